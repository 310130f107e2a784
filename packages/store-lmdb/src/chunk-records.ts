import { CorruptionError, type EventId, type EventRecord } from '@azothdb/core'
import type { ChunkBatch, ReadAheadJob } from './chunk-read-ahead.js'
import { Chunk, chunkCorrupt, chunkKeyToId } from './event-chunks.js'

/** An LMDB entry of the event log: a chunk's key and value. */
export interface ChunkEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/** How a long scan has the chunks after the current one read and checked on another thread. */
export interface ChunkReadAhead {
  /** Starts a job for the chunks from the one starting at `first` up to event `last`; undefined when unavailable. */
  submit(first: EventId, last: EventId): ReadAheadJob | undefined
  /** The reader's own read again, from the chunk starting at `id` (after chunks the worker read). */
  rangeFrom(id: EventId): Iterator<ChunkEntry> | undefined
}

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
  /** The job reading the chunks from `expected` on, after those of `batch`. */
  private job: ReadAheadJob | undefined
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
    this.submitAfter(chunk.lastId + 1)
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

  /** Enters the next chunk the worker read and checked; false when it has none ready (read it here). */
  private fromBatch(): boolean {
    let batch = this.batch
    if (batch === undefined || this.batchAt >= batch.count) {
      this.batch = undefined
      const job = this.job
      if (job === undefined) return false
      this.job = undefined
      if (job.first !== this.expected) {
        job.abandon()
        return false
      }
      batch = job.result()
      if (batch === undefined || batch.count === 0) return false
      this.batch = batch
      this.batchAt = 0
      this.batchOffset = 0
      // The worker reads on while this batch is handed out; this iterator's own range, far behind
      // now, need not hold its LMDB snapshot.
      this.closeRange()
      this.submitAfter(batch.nextId)
    }
    const length = batch.meta[2 * this.batchAt]!
    const verified = batch.meta[2 * this.batchAt + 1]!
    const value = batch.data.subarray(this.batchOffset, this.batchOffset + length)
    this.batchAt++
    this.batchOffset += length
    this.enter(new Chunk(this.expected, value), verified)
    return true
  }

  /** Has the worker read the chunks from `first` on, as far as this iterator may still read. */
  private submitAfter(first: EventId): void {
    if (this.readAhead === undefined || this.job !== undefined || first > this.to) return
    // Events of the chunks before `first` not handed out yet count against the limit.
    const pending = first - Math.max(this.from, this.chunkStart())
    const left = this.left - pending
    if (left <= 0) return
    this.job = this.readAhead.submit(first, Math.min(this.to, first + left - 1))
  }

  /** Id of the next event to hand out. */
  private chunkStart(): EventId {
    return this.chunk === undefined ? this.expected : this.chunk.firstId + this.index
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
      this.job?.abandon()
      this.job = undefined
      this.closeRange()
    }
    return DONE
  }
}
