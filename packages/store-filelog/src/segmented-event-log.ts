import {
  AzothError,
  ClosedError,
  type EventId,
  type EventRange,
  type EventRecord,
  isAzothError,
} from '@azothdb/core'
import { allocateBytes, nodeFileSystem, type ProcessLock } from '@azothdb/core/internal'
import type { FileEventLog, FileEventLogStats } from './file-event-log.js'
import { followCompaction, followWriter, truncated } from './follow-writer.js'
import { LogIterator, type SegmentDirectory } from './log-iterator.js'
import { LogWriter } from './log-writer.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import { readAheadWorker } from './read-ahead-worker.js'
import { RecordLocator } from './record-locator.js'
import type { Segment } from './segment.js'
import { SegmentSet } from './segment-set.js'

/** What an open hands to the log it builds. */
export interface OpenedLog {
  readonly dir: string
  readonly opts: ResolvedFileEventLogOptions
  readonly segments: Segment[]
  readonly lock: ProcessLock | undefined
  readonly recoveredBytes: number
  /** A read-only open of a directory without segments: one segment that has no file yet. */
  readonly placeholder: boolean
}

/** The {@link FileEventLog} that `openFileEventLog` returns. */
export class SegmentedEventLog implements FileEventLog {
  readonly readOnly: boolean
  readonly dir: string
  readonly #opts: ResolvedFileEventLogOptions
  readonly #set: SegmentSet
  readonly #writer: LogWriter | undefined
  readonly #lock: ProcessLock | undefined
  readonly #recoveredBytes: number
  readonly #locator: RecordLocator
  /** The iterators' view of this log. */
  readonly #directory: SegmentDirectory
  #placeholder: boolean
  #chain: Promise<unknown> = Promise.resolve()
  #closing = false
  #closePromise: Promise<void> | undefined
  #failure: AzothError | undefined
  #failedWrites = 0

  constructor(opened: OpenedLog) {
    const opts = opened.opts
    this.dir = opened.dir
    this.readOnly = opts.readOnly
    this.#opts = opts
    this.#set = new SegmentSet(opened.segments, opts)
    this.#writer = opts.readOnly ? undefined : new LogWriter(this.#set, opened.dir, opts)
    this.#lock = opened.lock
    this.#recoveredBytes = opened.recoveredBytes
    this.#placeholder = opened.placeholder
    this.#locator = new RecordLocator(opts.fs, opts.indexIntervalBytes + 1024)
    const set = this.#set
    // The worker reads with its own node:fs, which a file layer given for tests cannot reach: with
    // one, every read goes through it, so its faults are the ones reads meet.
    const readAhead = opts.backgroundChecksums && opts.fs === nodeFileSystem
    this.#directory = {
      fs: opts.fs,
      segmentFor: (id) => set.segmentFor(id),
      fdFor: (segment) => set.fdFor(segment),
      head: () => set.head(),
      oldest: () => set.oldest(),
      assertOpen: () => set.assertOpen(),
      readAheadWorker: () => (readAhead ? readAheadWorker(opts.logger) : undefined),
      followCompaction: (e) => this.#followCompaction(e),
    }
  }

  append(firstId: EventId, records: readonly Uint8Array[]): void {
    const writer = this.#checkWritable()
    if (!Array.isArray(records)) throw invalid('records must be an array of Uint8Array', {})
    const expected = this.#set.head() + 1
    if (firstId !== expected) {
      throw invalid(`append must start at id ${expected} (head + 1), got ${String(firstId)}`, {
        expected,
        firstId,
      })
    }
    const n = records.length
    const max = this.#opts.maxRecordBytes
    for (let i = 0; i < n; i++) {
      const r = records[i]
      if (!(r instanceof Uint8Array)) throw invalid(`record ${i} is not a Uint8Array`, { index: i })
      if (r.length > max) {
        throw new AzothError('EVENT_TOO_LARGE', `record ${i} has ${r.length} bytes, more than ${max}`, {
          details: { index: i, bytes: r.length, limit: max },
        })
      }
    }
    if (!Number.isSafeInteger(firstId + n))
      throw invalid('ids would exceed the safe integer range', { firstId })
    try {
      writer.append(firstId, records)
    } catch (e) {
      throw this.#failed(e, 'append')
    }
  }

  flush(): Promise<void> {
    if (this.#set.closed) return Promise.reject(new ClosedError('file event log'))
    if (this.#failure) return Promise.reject(this.#failure)
    try {
      this.#writer?.flush()
    } catch (e) {
      return Promise.reject(this.#failed(e, 'flush'))
    }
    return Promise.resolve()
  }

  sync(): Promise<void> {
    if (this.#set.closed) return Promise.reject(new ClosedError('file event log'))
    const writer = this.#writer
    if (writer === undefined) return Promise.resolve()
    return this.#exclusive(() => this.#sync(writer))
  }

  head(): EventId {
    return this.#set.head()
  }

  oldest(): EventId {
    return this.#set.oldest()
  }

  get(id: EventId): Uint8Array | undefined {
    const set = this.#set
    set.assertOpen()
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw invalid('id must be an integer', { id })
    if (id > set.head() || id < set.oldest()) return undefined
    if (this.#writer !== undefined && this.#writer.buffered > 0) this.#flushForRead()
    const segment = set.segmentFor(id)!
    let fd: number
    try {
      fd = set.fdFor(segment)
    } catch (e) {
      if (this.#followCompaction(e)) return this.get(id)
      throw e
    }
    const loc = this.#locator
    loc.locate(segment, fd, id, true)
    const out = allocateBytes(loc.length)
    loc.buffer.copy(out, 0, loc.payloadStart, loc.payloadStart + loc.length)
    return out
  }

  read(range: EventRange = {}): IterableIterator<EventRecord> {
    const set = this.#set
    set.assertOpen()
    const oldest = set.oldest()
    const head = set.head()
    const from = Math.max(checkBound('from', range.from, oldest), oldest)
    const to = Math.min(checkBound('to', range.to, head), head)
    const limit = checkBound('limit', range.limit, Number.MAX_SAFE_INTEGER)
    if (this.#writer !== undefined && this.#writer.buffered > 0) this.#flushForRead()
    return new LogIterator(this.#directory, from, to, limit, this.#opts.readChunkBytes)
  }

  truncateAfter(id: EventId): Promise<void> {
    try {
      this.#checkWritable()
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw invalid('truncateAfter needs an integer id >= 0', { id })
      }
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#exclusive(async () => {
      const writer = this.#checkWritable()
      const head = this.#set.head()
      if (id > head) throw invalid(`cannot truncate after ${id}: the head is ${head}`, { id, head })
      if (id === head) return
      try {
        await writer.cutAfter(id)
      } catch (e) {
        throw this.#failed(e, 'truncateAfter')
      }
    })
  }

  deleteBefore(id: EventId): Promise<number> {
    try {
      this.#checkWritable()
      if (typeof id !== 'number' || !Number.isSafeInteger(id))
        throw invalid('deleteBefore needs an integer id', { id })
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#exclusive(async () => {
      const writer = this.#checkWritable()
      const segs = this.#set.list
      let keep = 0
      let dropped = 0
      // The last segment always stays: it carries the head.
      while (keep < segs.length - 1 && segs[keep + 1]!.firstId <= id) dropped += segs[keep++]!.count
      if (keep === 0) return 0
      try {
        await writer.dropBefore(keep)
      } catch (e) {
        throw this.#failed(e, 'deleteBefore')
      }
      return dropped
    })
  }

  stats(): FileEventLogStats {
    const set = this.#set
    const placeholder = this.#placeholder
    let bytes = 0
    if (!placeholder) for (const s of set.list) bytes += s.size
    const oldest = set.oldest()
    const head = set.head()
    return {
      events: head - oldest + 1,
      bytes,
      segments: placeholder ? 0 : set.list.length,
      oldest,
      head,
      recoveredBytes: this.#recoveredBytes,
      backgroundErrors: this.#writer?.backgroundErrors ?? 0,
      failedWrites: this.#failedWrites,
    }
  }

  refresh(): EventId {
    const set = this.#set
    set.assertOpen()
    if (!this.readOnly) return set.head()
    const seen = set.head()
    this.#followCompaction(undefined)
    if (!followWriter(set.list, this.dir, this.#opts)) {
      // The last segment this view knew is gone: compacted away meanwhile, or cut by the writer.
      if (!this.#followCompaction(undefined) || !followWriter(set.list, this.dir, this.#opts)) {
        throw truncated(set.last.path, seen)
      }
    }
    const segs = set.list
    this.#placeholder = this.#placeholder && segs.length === 1 && segs[0]!.fd < 0
    for (let i = 0; i < segs.length - 1; i++) set.closeUnlessCached(segs[i]!) // Sealed: reopened on demand.
    return set.head()
  }

  verify(): number {
    let n = 0
    for (const _ of this.read()) n++
    return n
  }

  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise
    this.#closing = true
    this.#closePromise = this.#exclusive(async () => {
      const writer = this.#writer
      try {
        if (writer !== undefined && this.#failure === undefined) {
          await this.#sync(writer)
          const active = this.#set.last
          if (active.sidecarSize !== active.size) await writer.writeSidecarLogged(active)
        }
      } finally {
        this.#set.closed = true
        this.#set.closeAll()
        this.#lock?.release()
      }
    })
    return this.#closePromise
  }

  async #sync(writer: LogWriter): Promise<void> {
    if (this.#failure) throw this.#failure
    try {
      await writer.sync()
    } catch (e) {
      throw this.#failed(e, 'sync')
    }
  }

  #checkWritable(): LogWriter {
    if (this.#closing || this.#set.closed) throw new ClosedError('file event log')
    const writer = this.#writer
    if (writer === undefined) throw invalid('the event log was opened read-only', { dir: this.dir })
    if (this.#failure) {
      throw new AzothError('IO', 'the event log failed earlier and must be reopened', {
        cause: this.#failure,
        details: this.#failure.details ?? {},
      })
    }
    return writer
  }

  #flushForRead(): void {
    try {
      this.#writer!.flush()
    } catch (e) {
      throw this.#failed(e, 'flush before read')
    }
  }

  /** A read-only view catching up with the writer's compaction (see {@link followCompaction}). */
  #followCompaction(e: unknown): boolean {
    if (!this.readOnly || (e !== undefined && !isAzothError(e, 'NOT_FOUND'))) return false
    const moved = followCompaction(this.#set, this.dir, this.#opts)
    if (moved === 'rescanned-empty') this.#placeholder = true
    else if (moved === 'rescanned') this.#placeholder = false
    return moved !== 'same'
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn)
    this.#chain = run.catch(() => {})
    return run
  }

  /**
   * The error a failed write raises: `IO` with the errno (`ENOSPC`: the disk is full). When the
   * writer could not put the files back as they were, the log refuses writes from now on.
   */
  #failed(e: unknown, during: string): AzothError {
    if (isAzothError(e) && e.code !== 'IO') return e
    const errno = (e as NodeJS.ErrnoException | undefined)?.code
    const err = isAzothError(e)
      ? e
      : new AzothError('IO', `event log ${during} failed${errno ? `: ${errno}` : ''}`, {
          cause: e,
          details: { dir: this.dir, during, ...(errno ? { errno } : {}) },
        })
    this.#failedWrites++
    const broken = this.#writer?.broken
    if (broken !== undefined && this.#failure === undefined) {
      this.#failure = err
      this.#opts.logger.error({ err: e, dir: this.dir, during }, 'event log failed; reopen to recover')
    } else if (broken === undefined) {
      this.#opts.logger.warn({ err: e, dir: this.dir, during }, 'event log write failed and was rolled back')
    }
    return err
  }
}

/** An `INVALID_ARGUMENT` error with `details`. */
function invalid(message: string, details: Record<string, unknown>): AzothError {
  return new AzothError('INVALID_ARGUMENT', message, { details })
}

function checkBound(field: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (value === Number.POSITIVE_INFINITY) return Number.MAX_SAFE_INTEGER
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${field} must be an integer >= 0 (or Infinity)`, { field, value })
  }
  return value
}
