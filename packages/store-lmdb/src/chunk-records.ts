import { CorruptionError, type EventId, type EventRecord } from '@azothdb/core'
import { type ChunkBatch, JOB_BYTES, type ReadAheadJob } from './chunk-read-ahead.js'
import { Chunk, chunkCorrupt, chunkKeyToId } from './event-chunks.js'

/** An LMDB entry of the event log: a chunk's key and value. */
export interface ChunkEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/** How a long scan has the chunks ahead of it read and checked on another thread. */
export interface ChunkReadAhead {
  /** Starts a job for the chunks whose first ids lie in `[start, end)`; undefined when unavailable. */
  submit(start: EventId, end: EventId): ReadAheadJob | undefined
  /** The reader's own read again, from the chunk starting at `id` (after chunks the worker read). */
  rangeFrom(id: EventId): Iterator<ChunkEntry> | undefined
}

/**
 * Jobs a scan keeps in flight: the worker runs ahead by several jobs (a few milliseconds of
 * reading), so a worker thread the scheduler runs late still answers in time, and a job the reader
 * takes back (reads itself) gives the worker that long to get to the next ones.
 */
const JOBS_IN_FLIGHT = 4
/** Events per job at first; then as many as fill three quarters of a job's buffer. */
const FIRST_JOB_EVENTS = 2_048

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * The records of the chunks `open` returns (entries in key order, opened at the first `next()`,
 * so an iterator never consumed holds no LMDB cursor) from `from` to `to`, at most `limit`. A
 * class rather than a generator: this runs once per event read, and two nested generators cost
 * more than the rest of the work. Finishing early (or failing) closes the LMDB range.
 *
 * With `readAhead`, the chunks after the current one are read and checked by a worker while this
 * iterator hands out the current ones; whatever the worker did not deliver (not started in time,
 * failed, a chunk it could not find or parse) is read here as without it, so errors are the same,
 * raised at the same event. An event the worker found damaged is checked again here when reached,
 * which raises its `CORRUPTION` after every event before it was handed out.
 */
export class ChunkRecords implements IterableIterator<EventRecord> {
  private chunks: Iterator<ChunkEntry> | undefined
  /** First id of the entry `chunks` yields next (`expected` unless chunks were read ahead since). */
  private chunksNext = -1
  private chunk: Chunk | undefined
  private index = 0
  /** Events of `chunk` below this index passed a bulk check: they are handed out unchecked. */
  private verifiedTo = 0
  private expected = -1
  private left: number
  private done = false
  /** The last id this iterator may hand out (`to`, or sooner by the limit). */
  private readonly last: EventId
  /** Jobs in flight over consecutive ranges of chunk keys, oldest first. */
  private readonly jobs: ReadAheadJob[] = []
  /** Where the next job's range starts. */
  private nextJobStart = -1
  private jobEvents = FIRST_JOB_EVENTS
  /** The chunks of a job, handed out from `batchAt` (at `batchOffset` in its data). */
  private batch: ChunkBatch | undefined
  private batchAt = 0
  private batchOffset = 0

  constructor(
    private readonly open: () => Iterator<ChunkEntry> | undefined,
    private readonly from: EventId,
    private readonly to: EventId,
    limit: number,
    private readonly readAhead?: ChunkReadAhead,
  ) {
    this.left = limit
    this.last = Math.min(to, from + limit - 1)
  }

  [Symbol.iterator](): this {
    return this
  }

  next(): IteratorResult<EventRecord, undefined> {
    for (;;) {
      if (this.done) return DONE
      const chunk = this.chunk
      if (chunk !== undefined && this.index < chunk.count) {
        const id = chunk.firstId + this.index
        if (id > this.to || this.left <= 0) return this.finish()
        let bytes: Uint8Array
        try {
          bytes = this.index < this.verifiedTo ? chunk.verifiedEvent(this.index) : chunk.event(this.index)
        } catch (e) {
          this.finish()
          throw e
        }
        this.index++
        this.left--
        return { done: false, value: { id, bytes } }
      }
      try {
        if (chunk !== undefined && (chunk.lastId >= this.to || this.left <= 0)) return this.finish()
        if (!(this.readAhead !== undefined && this.fromBatch()) && !this.readHere()) return this.finish()
      } catch (e) {
        this.finish()
        throw e
      }
    }
  }

  /** Enters the next chunk read here; false at the end of the entries. */
  private readHere(): boolean {
    let chunks = this.chunks
    if (chunks !== undefined && this.chunksNext !== this.expected) {
      this.closeRange()
      chunks = undefined
    }
    if (chunks === undefined) {
      chunks = this.expected === -1 ? this.open() : this.readAhead?.rangeFrom(this.expected)
      if (chunks === undefined) return this.ended()
      this.chunks = chunks
    }
    const entry = chunks.next()
    if (entry.done === true) return this.ended()
    const chunk = new Chunk(chunkKeyToId(entry.value.key), entry.value.value)
    this.enter(chunk, -1)
    this.chunksNext = chunk.lastId + 1
    this.topUp()
    return true
  }

  /**
   * The entries end. Every event up to `to` (at most the head) has a chunk: one missing is damage,
   * never the end of the log. (A chunk whose key was damaged into a lower id is met out of order,
   * as a gap, by a read from the start, but not by reads that start past it, as read-ahead's do.)
   */
  private ended(): boolean {
    const missing = this.expected === -1 ? this.from : this.expected
    if (missing <= this.to) {
      throw new CorruptionError(`event ${missing} is missing: no chunk holds it`, {
        details: { where: 'event', eventId: missing, reason: 'missing' },
      })
    }
    return false
  }

  /** Enters the next chunk a job read and checked; false when no job has it (read it here). */
  private fromBatch(): boolean {
    let batch = this.batch
    if (batch === undefined || this.batchAt >= batch.count) {
      this.batch = undefined
      if (this.expected === -1) return false
      const job = this.jobFor(this.expected)
      if (job === undefined) return false
      batch = job.result()
      this.topUp()
      // A job that starts at another chunk than the one expected met a gap: read here, which reports it.
      if (batch === undefined || batch.count === 0 || batch.firstId !== this.expected) return false
      this.batch = batch
      this.batchAt = 0
      this.batchOffset = 0
      this.jobEvents = Math.max(64, Math.floor((0.75 * JOB_BYTES * batch.events) / batch.data.length))
      // The worker reads on while this batch is handed out; this iterator's own range, behind now,
      // need not hold its LMDB snapshot.
      this.closeRange()
    }
    const length = batch.meta[2 * this.batchAt]!
    const verified = batch.meta[2 * this.batchAt + 1]!
    const value = batch.data.subarray(this.batchOffset, this.batchOffset + length)
    this.batchAt++
    this.batchOffset += length
    this.enter(new Chunk(this.expected, value), verified)
    return true
  }

  /** The job whose range holds `id`, taken off the queue with those before it; undefined when none does. */
  private jobFor(id: EventId): ReadAheadJob | undefined {
    const jobs = this.jobs
    while (jobs.length > 0 && jobs[0]!.end <= id) jobs.shift()!.abandon()
    this.topUp()
    const job = jobs[0]
    if (job === undefined || job.start > id) return undefined
    jobs.shift()
    return job
  }

  /** Submits jobs for the chunks ahead, up to {@link JOBS_IN_FLIGHT}, as far as this iterator reads. */
  private topUp(): void {
    const readAhead = this.readAhead
    if (readAhead === undefined) return
    if (this.nextJobStart < this.expected) this.nextJobStart = this.expected
    while (this.jobs.length < JOBS_IN_FLIGHT && this.nextJobStart <= this.last) {
      const end = Math.min(this.nextJobStart + this.jobEvents, this.last + 1)
      const job = readAhead.submit(this.nextJobStart, end)
      if (job === undefined) return
      this.jobs.push(job)
      this.nextJobStart = end
    }
  }

  private enter(next: Chunk, verified: number): void {
    if (this.expected !== -1 && next.firstId !== this.expected) {
      throw chunkCorrupt(next.firstId, `gap: expected a chunk starting at ${this.expected}`)
    }
    this.expected = next.lastId + 1
    this.chunk = next
    const index = next.lastId < this.from ? next.count : Math.max(0, this.from - next.firstId)
    this.index = index
    if (verified >= 0) {
      // Checked by the worker, every event of the chunk.
      this.verifiedTo = verified
      return
    }
    // What this iterator may still read of the chunk, checked in one call.
    const end = Math.min(next.count, this.to - next.firstId + 1, index + Math.min(this.left, next.count))
    this.verifiedTo = end > index ? next.verify(index, end) : 0
  }

  return(): IteratorResult<EventRecord, undefined> {
    return this.finish()
  }

  private closeRange(): void {
    const chunks = this.chunks
    this.chunks = undefined
    chunks?.return?.()
  }

  private finish(): IteratorResult<EventRecord, undefined> {
    if (!this.done) {
      this.done = true
      this.chunk = undefined
      this.batch = undefined
      for (const job of this.jobs) job.abandon()
      this.jobs.length = 0
      this.closeRange()
    }
    return DONE
  }
}
