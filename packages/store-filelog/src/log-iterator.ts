import { AzothError, CorruptionError, type EventRecord } from '@azothdb/core'
import type { FileSystem } from '@azothdb/core/internal'
import type { ReadAheadWorker } from './read-ahead-worker.js'
import { END, RECORD, RecordReader } from './record-reader.js'
import type { Segment } from './segment.js'

/** What an iterator needs from its log: segment lookup, descriptors and the current bounds. */
export interface SegmentDirectory {
  /** What the segments are read with. */
  readonly fs: FileSystem
  segmentFor(id: number): Segment | undefined
  /** An open descriptor of `segment`; `NOT_FOUND` once it was deleted. */
  fdFor(segment: Segment): number
  head(): number
  oldest(): number
  assertOpen(): void
  /** The worker that reads and checks chunks ahead, if reads should use one (started on first use). */
  readAheadWorker(): ReadAheadWorker | undefined
  /**
   * After `e` from {@link fdFor}: a read-only view takes in the writer's compaction; true when the
   * view moved forward (the oldest id rose).
   */
  followCompaction(e: unknown): boolean
}

/** Reads that may still return fewer records than this never read ahead. */
const READ_AHEAD_MIN_RECORDS = 8_192

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * Lazy iteration over `[from, to]` (at most `limit` records), one segment after another with
 * large sequential reads from the sparse-index entry at or before `from`. Every record's checksum
 * is checked. Each record's bytes are a view into a read chunk that is never reused, so records
 * may be kept without copying.
 */
export class LogIterator implements IterableIterator<EventRecord> {
  private nextId: number
  private remaining: number
  private segment: Segment | undefined
  private reader: RecordReader | undefined
  private delivered = false

  constructor(
    private readonly log: SegmentDirectory,
    from: number,
    private readonly to: number,
    limit: number,
    private readonly chunkBytes: number,
  ) {
    this.nextId = from
    this.remaining = from > to ? 0 : limit
  }

  [Symbol.iterator](): this {
    return this
  }

  next(): IteratorResult<EventRecord, undefined> {
    // The common case, kept small so that it is inlined into the caller's loop (and the result
    // objects with it): the next record is whole and checked in the current chunk.
    const reader = this.reader
    if (reader !== undefined && this.remaining > 0 && this.nextId <= this.to && !this.segment!.retired) {
      this.log.assertOpen()
      if (reader.nextChecked()) {
        const id = reader.id
        return id === this.nextId ? this.deliver(reader, id) : this.skipOrFail(reader, id)
      }
    }
    return this.nextSlow()
  }

  private deliver(reader: RecordReader, id: number): IteratorResult<EventRecord, undefined> {
    this.delivered = true
    this.nextId = id + 1
    this.remaining--
    const bytes = new Uint8Array(reader.arrayBuffer, reader.byteOffset + reader.payloadStart, reader.length)
    return { done: false, value: { id, bytes } }
  }

  /** A record before the one wanted (reading from a sparse-index entry) is skipped. */
  private skipOrFail(reader: RecordReader, id: number): IteratorResult<EventRecord, undefined> {
    if (id > this.nextId) throw this.unexpectedId(this.segment!, reader, id)
    return this.nextSlow()
  }

  private unexpectedId(segment: Segment, reader: RecordReader, id: number): CorruptionError {
    return new CorruptionError(`segment ${segment.path} holds id ${id} where ${this.nextId} belongs`, {
      details: { file: segment.path, offset: reader.recordOffset, reason: 'unexpected id' },
    })
  }

  private nextSlow(): IteratorResult<EventRecord, undefined> {
    if (this.remaining <= 0 || this.nextId > this.to) return this.finish()
    this.log.assertOpen()
    for (;;) {
      let segment = this.segment
      let reader = this.reader
      if (segment === undefined || reader === undefined) {
        segment = this.log.segmentFor(this.nextId)
        if (segment === undefined) return this.nextId > this.log.head() ? this.finish() : this.lost()
        if (!this.opened(segment)) {
          if (this.nextId > this.to) return this.finish()
          continue
        }
        const entry = segment.index.floor(this.nextId)
        const start = entry < 0 ? segment.size : segment.index.offsetAt(entry)
        const s = segment
        const fd = () => this.log.fdFor(s)
        reader = new RecordReader(this.log.fs, s.path, fd, start, segment.size, this.chunkBytes, true)
        // Reading ahead pays off on long reads only: a projector's batch of a thousand records
        // would mostly waste the chunk read ahead.
        if (Math.min(this.remaining, this.to - this.nextId + 1) > READ_AHEAD_MIN_RECORDS) {
          const log = this.log
          reader.readAhead = { path: segment.path, worker: () => log.readAheadWorker() }
        }
        this.segment = segment
        this.reader = reader
      }
      if (segment.retired) return this.lost()
      const status = reader.next()
      if (status === RECORD) {
        const id = reader.id
        if (id < this.nextId) continue
        if (id !== this.nextId) throw this.unexpectedId(segment, reader, id)
        return this.deliver(reader, id)
      }
      if (status === END && this.nextId > segment.lastId) {
        this.segment = undefined
        this.reader = undefined
        continue
      }
      // The segment ended or broke before the id: truncated under us, or damaged.
      if (this.nextId > this.log.head()) return this.finish()
      throw new CorruptionError(
        `segment ${segment.path} is damaged at offset ${reader.recordOffset}: ${status === END ? 'ends early' : reader.damage}`,
        {
          details: { file: segment.path, offset: reader.recordOffset, reason: reader.damage || 'ends early' },
        },
      )
    }
  }

  /**
   * Opens `segment` ahead of reading it. A read-only view may find it compacted away by the
   * writer: an iteration that has not delivered anything yet then starts at the new oldest id, as
   * one started after the compaction in the writer's process would (false: look up again).
   */
  private opened(segment: Segment): boolean {
    try {
      this.log.fdFor(segment)
      return true
    } catch (e) {
      if (this.delivered || !this.log.followCompaction(e)) throw e
      this.nextId = Math.max(this.nextId, this.log.oldest())
      return false
    }
  }

  return(): IteratorResult<EventRecord, undefined> {
    return this.finish()
  }

  private finish(): IteratorResult<EventRecord, undefined> {
    this.remaining = 0
    this.reader?.close()
    this.segment = undefined
    this.reader = undefined
    return DONE
  }

  private lost(): never {
    this.finish()
    throw new AzothError('NOT_FOUND', `event ${this.nextId} was deleted while it was being read`, {
      details: { id: this.nextId },
    })
  }
}
