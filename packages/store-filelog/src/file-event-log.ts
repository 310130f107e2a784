import { closeSync, ftruncateSync, openSync, unlinkSync } from 'node:fs'
import {
  AzothError,
  ClosedError,
  type EventId,
  type EventLog,
  type EventLogStats,
  type EventRange,
  type EventRecord,
  isAzothError,
} from '@azothdb/core'
import { allocateBytes, type ProcessLock, writeEventId } from '@azothdb/core/internal'
import { crc32c } from './crc32c.js'
import { followWriter } from './follow-writer.js'
import { datasync, fsyncDirectory, fsyncDirectorySync, writeFully } from './fs-util.js'
import { removeSidecar, writeSidecar } from './index-sidecar.js'
import { LogIterator, type SegmentDirectory } from './log-iterator.js'
import { createSegment } from './open-segments.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import { type ReadAheadWorker, readAheadWorker } from './read-ahead-worker.js'
import { sealRecords } from './record-checksums.js'
import { RecordLocator } from './record-locator.js'
import type { Segment } from './segment.js'
import { RECORD_HEADER_BYTES, writeRecordIdAndLength, writeU32 } from './segment-format.js'

/** {@link EventLogStats} plus what the file log itself has to report. */
export interface FileEventLogStats extends EventLogStats {
  /** Bytes of torn tail cut off (or skipped, read-only) when the log was opened. */
  readonly recoveredBytes: number
  /** Background failures that were logged and survived (index sidecar writes). */
  readonly backgroundErrors: number
}

/**
 * A crash-safe, append-only event log on plain files: segment files of checksummed records, a
 * sparse in-memory index per segment, buffered appends and asynchronous fdatasync. Create it with
 * `openFileEventLog`. Not safe for concurrent use from several processes except as one writer
 * plus read-only openers.
 */
export class FileEventLog implements EventLog, SegmentDirectory {
  /** True when opened with `readOnly`. */
  readonly readOnly: boolean
  private readonly segments: Segment[]
  private headId: number
  private readonly writeBuffer: Buffer
  private buffered = 0
  private readonly recordHeader = Buffer.alloc(RECORD_HEADER_BYTES)
  private readonly locator: RecordLocator
  private chain: Promise<unknown> = Promise.resolve()
  private dirDirty = false
  private pendingSidecars: Segment[] = []
  private closing = false
  private closed = false
  private closePromise: Promise<void> | undefined
  private failure: AzothError | undefined
  private backgroundErrors = 0
  /** A read-only open of an empty directory holds one placeholder segment that has no file. */
  private placeholder: boolean
  /** Sealed segments open for reading, least recently used first (bounded by `maxOpenSegments`). */
  private readonly readFds = new Map<Segment, true>()

  /** @internal Use `openFileEventLog`. */
  constructor(
    /** The directory holding the segments. */
    readonly dir: string,
    private readonly opts: ResolvedFileEventLogOptions,
    segments: Segment[],
    private readonly lock: ProcessLock | undefined,
    private readonly recoveredBytes: number,
  ) {
    this.readOnly = opts.readOnly
    this.segments = segments
    this.placeholder = opts.readOnly && segments.length === 1 && segments[0]!.fd < 0
    this.headId = segments[segments.length - 1]!.lastId
    this.writeBuffer = Buffer.allocUnsafe(opts.readOnly ? 0 : opts.writeBufferBytes)
    this.locator = new RecordLocator(opts.indexIntervalBytes + 1024)
  }

  append(firstId: EventId, records: readonly Uint8Array[]): void {
    this.checkWritable()
    if (!Array.isArray(records)) throw invalid('records must be an array of Uint8Array', {})
    const expected = this.headId + 1
    if (firstId !== expected) {
      throw invalid(`append must start at id ${expected} (head + 1), got ${String(firstId)}`, {
        expected,
        firstId,
      })
    }
    const n = records.length
    const max = this.opts.maxRecordBytes
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
      for (let i = 0; i < n; i++) this.writeRecord(firstId + i, records[i]!)
    } catch (e) {
      throw this.fail(e, 'append')
    }
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('file event log'))
    if (this.failure) return Promise.reject(this.failure)
    try {
      this.flushBuffer()
    } catch (e) {
      return Promise.reject(this.fail(e, 'flush'))
    }
    return Promise.resolve()
  }

  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedError('file event log'))
    if (this.readOnly) return Promise.resolve()
    return this.exclusive(() => this.runSync())
  }

  head(): EventId {
    return this.headId
  }

  oldest(): EventId {
    return this.segments[0]!.firstId
  }

  get(id: EventId): Uint8Array | undefined {
    this.assertOpen()
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw invalid('id must be an integer', { id })
    if (id > this.headId || id < this.segments[0]!.firstId) return undefined
    if (this.buffered > 0) this.flushForRead()
    const segment = this.segmentFor(id)!
    const loc = this.locator
    loc.locate(segment, this.fdFor(segment), id, true)
    const out = allocateBytes(loc.length)
    loc.buffer.copy(out, 0, loc.payloadStart, loc.payloadStart + loc.length)
    return out
  }

  read(range: EventRange = {}): IterableIterator<EventRecord> {
    this.assertOpen()
    const oldest = this.segments[0]!.firstId
    const from = Math.max(checkBound('from', range.from, oldest), oldest)
    const to = Math.min(checkBound('to', range.to, this.headId), this.headId)
    const limit = checkBound('limit', range.limit, Number.MAX_SAFE_INTEGER)
    if (this.buffered > 0) this.flushForRead()
    return new LogIterator(this, from, to, limit, this.opts.readChunkBytes)
  }

  truncateAfter(id: EventId): Promise<void> {
    try {
      this.checkWritable()
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw invalid('truncateAfter needs an integer id >= 0', { id })
      }
    } catch (e) {
      return Promise.reject(e)
    }
    return this.exclusive(async () => {
      this.checkWritable()
      if (id > this.headId) {
        throw invalid(`cannot truncate after ${id}: the head is ${this.headId}`, { id, head: this.headId })
      }
      if (id === this.headId) return
      try {
        this.flushBuffer()
        this.cutAfter(id)
      } catch (e) {
        throw this.fail(e, 'truncateAfter')
      }
      await this.runSync()
    })
  }

  deleteBefore(id: EventId): Promise<number> {
    try {
      this.checkWritable()
      if (typeof id !== 'number' || !Number.isSafeInteger(id))
        throw invalid('deleteBefore needs an integer id', { id })
    } catch (e) {
      return Promise.reject(e)
    }
    return this.exclusive(async () => {
      this.checkWritable()
      const segs = this.segments
      let n = 0
      let dropped = 0
      try {
        // The last segment always stays: it carries the head.
        while (n < segs.length - 1 && segs[n + 1]!.firstId <= id) {
          dropped += segs[n]!.count
          this.retire(segs[n]!)
          n++
        }
      } catch (e) {
        segs.splice(0, n)
        throw this.fail(e, 'deleteBefore')
      }
      if (n === 0) return 0
      segs.splice(0, n)
      this.pendingSidecars = this.pendingSidecars.filter((s) => !s.retired)
      this.dirDirty = true
      await this.runSync()
      return dropped
    })
  }

  stats(): FileEventLogStats {
    const placeholder = this.placeholder
    let bytes = 0
    if (!placeholder) for (const s of this.segments) bytes += s.size
    const oldest = this.segments[0]!.firstId
    return {
      events: this.headId - oldest + 1,
      bytes,
      segments: placeholder ? 0 : this.segments.length,
      oldest,
      head: this.headId,
      recoveredBytes: this.recoveredBytes,
      backgroundErrors: this.backgroundErrors,
    }
  }

  /**
   * For a read-only log: takes in what the writer appended since the open (or the last refresh)
   * and returns the new head; a writer's log is always current and just returns its head. Raises
   * `INVALID_ARGUMENT` when the writer cut the log below what this reader had seen: reopen then.
   */
  refresh(): EventId {
    this.assertOpen()
    if (!this.readOnly) return this.headId
    followWriter(this.segments, this.dir, this.opts)
    const segs = this.segments
    this.placeholder = this.placeholder && segs.length === 1 && segs[0]!.fd < 0
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i]!
      if (s.fd >= 0 && !this.readFds.has(s)) this.closeFd(s) // Sealed now: reopened on demand.
    }
    this.headId = this.segments[this.segments.length - 1]!.lastId
    return this.headId
  }

  /** Reads every record, checking every checksum; returns how many there are, `CORRUPTION` otherwise. */
  verify(): number {
    let n = 0
    for (const _ of this.read()) n++
    return n
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise
    this.closing = true
    this.closePromise = this.exclusive(async () => {
      try {
        if (!this.readOnly && this.failure === undefined) {
          await this.runSync()
          const active = this.segments[this.segments.length - 1]!
          if (active.sidecarSize !== active.size) await this.writeSidecarLogged(active)
        }
      } finally {
        this.closed = true
        for (const s of this.segments) if (s.fd >= 0) this.closeFd(s)
        this.lock?.release()
      }
    })
    return this.closePromise
  }

  /** @internal Part of the iterator's view of the log. */
  segmentFor(id: number): Segment | undefined {
    const segs = this.segments
    let lo = 0
    let hi = segs.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (segs[mid]!.firstId <= id) lo = mid
      else hi = mid - 1
    }
    const s = segs[lo]
    return s !== undefined && s.firstId <= id && id <= s.lastId ? s : undefined
  }

  /** @internal An open descriptor of `segment` (opened for reading on demand). */
  fdFor(segment: Segment): number {
    const lru = this.readFds
    if (segment.fd >= 0) {
      if (lru.has(segment)) {
        lru.delete(segment)
        lru.set(segment, true)
      }
      return segment.fd
    }
    this.assertOpen()
    if (segment.retired) {
      throw new AzothError('NOT_FOUND', `segment ${segment.path} was deleted`, {
        details: { file: segment.path },
      })
    }
    if (lru.size >= this.opts.maxOpenSegments) {
      for (const oldest of lru.keys()) {
        this.closeFd(oldest)
        break
      }
    }
    try {
      segment.fd = openSync(segment.path, 'r')
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT'
      throw new AzothError(missing ? 'NOT_FOUND' : 'IO', `cannot open segment ${segment.path}`, {
        cause: e,
        details: { file: segment.path },
      })
    }
    segment.writable = false
    lru.set(segment, true)
    return segment.fd
  }

  /** @internal Raises `CLOSED` once the log is closed. */
  assertOpen(): void {
    if (this.closed) throw new ClosedError('file event log')
  }

  /** @internal */
  readAheadWorker(): ReadAheadWorker | undefined {
    return this.opts.backgroundChecksums ? readAheadWorker(this.opts.logger) : undefined
  }

  private checkWritable(): void {
    if (this.closing || this.closed) throw new ClosedError('file event log')
    if (this.readOnly) throw invalid('the event log was opened read-only', { dir: this.dir })
    if (this.failure) {
      throw new AzothError('IO', 'the event log failed earlier and must be reopened', { cause: this.failure })
    }
  }

  private writeRecord(id: number, bytes: Uint8Array): void {
    const length = bytes.length
    const total = RECORD_HEADER_BYTES + length
    let segment = this.segments[this.segments.length - 1]!
    if (segment.count > 0 && segment.size + total > this.opts.segmentBytes) segment = this.rotate()
    if (this.buffered + total > this.writeBuffer.length) this.flushBuffer()
    const offset = segment.size
    if (total > this.writeBuffer.length) {
      // Larger than the buffer: header from a scratch, payload straight from the caller.
      const h = this.recordHeader
      writeEventId(h, 0, id)
      writeU32(h, 8, length)
      writeU32(h, 12, crc32c(bytes, 0, length, crc32c(h, 0, 12)))
      writeFully(segment.fd, h, 0, RECORD_HEADER_BYTES, offset)
      writeFully(segment.fd, bytes, 0, length, offset + RECORD_HEADER_BYTES)
      segment.dirty = true
    } else {
      const b = this.writeBuffer
      const p = this.buffered
      b.set(bytes, p + RECORD_HEADER_BYTES)
      // Checksums are written for the whole buffer at once when it is flushed.
      writeRecordIdAndLength(b, p, id, length)
      this.buffered = p + total
    }
    segment.noteRecord(id, offset, total, this.opts.indexIntervalBytes)
    this.headId = id
  }

  /** Hands the write buffer to the OS (page cache). */
  private flushBuffer(): void {
    if (this.buffered === 0) return
    const segment = this.segments[this.segments.length - 1]!
    sealRecords(this.writeBuffer, 0, this.buffered)
    writeFully(segment.fd, this.writeBuffer, 0, this.buffered, segment.size - this.buffered)
    this.buffered = 0
    segment.dirty = true
  }

  private flushForRead(): void {
    try {
      this.flushBuffer()
    } catch (e) {
      throw this.fail(e, 'flush before read')
    }
  }

  private rotate(): Segment {
    this.flushBuffer()
    const sealed = this.segments[this.segments.length - 1]!
    const next = createSegment(this.dir, this.headId + 1)
    this.segments.push(next)
    this.pendingSidecars.push(sealed)
    this.dirDirty = true
    return next
  }

  /** Removes every record after `id` (at most the head); the caller flushed and holds the chain. */
  private cutAfter(id: number): void {
    const segs = this.segments
    if (id + 1 < segs[0]!.firstId) {
      // Everything goes; the next append starts at id + 1.
      while (segs.length > 0) this.retire(segs.pop()!)
      fsyncDirectorySync(this.dir) // The old segments must not come back next to the new one.
      segs.push(createSegment(this.dir, id + 1))
    } else {
      let k = segs.length - 1
      while (segs[k]!.firstId > id + 1) k--
      let removed = false
      while (segs.length - 1 > k) {
        this.retire(segs.pop()!)
        removed = true
      }
      const segment = segs[k]!
      if (!segment.writable) {
        // A sealed segment becomes the active one again.
        if (segment.fd >= 0) this.closeFd(segment)
        segment.fd = openSync(segment.path, 'r+')
        segment.writable = true
      }
      const offset = this.locator.locate(segment, segment.fd, id + 1, false)
      if (segment.sidecarSize > offset) {
        removeSidecar(segment.path)
        segment.sidecarSize = 0
        removed = true
      }
      // Removals must be durable before the segment is cut: otherwise a power loss could bring back
      // later segments, or a sidecar, that no longer match it.
      if (removed) fsyncDirectorySync(this.dir)
      ftruncateSync(segment.fd, offset)
      segment.truncateTo(id, offset)
      segment.dirty = true
    }
    this.pendingSidecars = this.pendingSidecars.filter((s) => !s.retired && s !== segs[segs.length - 1])
    this.headId = id
    this.dirDirty = true
  }

  private closeFd(segment: Segment): void {
    const fd = segment.fd
    segment.fd = -1
    segment.writable = false
    this.readFds.delete(segment)
    closeSync(fd)
  }

  /** Closes and deletes a segment and its sidecar. */
  private retire(segment: Segment): void {
    if (segment.fd >= 0) this.closeFd(segment)
    segment.retired = true
    unlinkSync(segment.path)
    removeSidecar(segment.path)
  }

  /** Flush, fdatasync every written segment, fsync the directory if files came or went. */
  private async runSync(): Promise<void> {
    if (this.failure) throw this.failure
    try {
      this.flushBuffer()
      const dirty: Segment[] = []
      for (let i = this.segments.length - 1; i >= 0; i--) {
        const s = this.segments[i]!
        if (s.dirty) {
          s.dirty = false
          dirty.push(s)
        } else if (this.pendingSidecars.length === 0) {
          break // Older segments are sealed and were synced.
        }
      }
      if (dirty.length === 1) await datasync(dirty[0]!.fd)
      else if (dirty.length > 1) await Promise.all(dirty.map((s) => datasync(s.fd)))
      if (this.dirDirty) {
        this.dirDirty = false
        await fsyncDirectory(this.dir)
      }
    } catch (e) {
      throw this.fail(e, 'sync')
    }
    if (this.pendingSidecars.length > 0) {
      const ready = this.pendingSidecars.filter((s) => !s.dirty && !s.retired)
      this.pendingSidecars = this.pendingSidecars.filter((s) => s.dirty && !s.retired)
      for (const s of ready) {
        await this.writeSidecarLogged(s)
        // Synced and sealed: its write descriptor goes; reads reopen it on demand.
        if (s.writable && s !== this.segments[this.segments.length - 1] && s.fd >= 0) this.closeFd(s)
      }
    }
  }

  private async writeSidecarLogged(segment: Segment): Promise<void> {
    try {
      await writeSidecar(segment)
    } catch (e) {
      // Only costs a scan of this segment at the next open.
      this.backgroundErrors++
      this.opts.logger.warn({ err: e, file: segment.path }, 'could not write event log index sidecar')
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn)
    this.chain = run.catch(() => {})
    return run
  }

  /** Records an I/O failure: the log refuses writes from now on (state on disk is unknown). */
  private fail(e: unknown, during: string): AzothError {
    if (isAzothError(e) && e.code !== 'IO') return e
    const err = isAzothError(e) ? e : new AzothError('IO', `event log ${during} failed`, { cause: e })
    if (this.failure === undefined) {
      this.failure = err
      this.opts.logger.error({ err: e, dir: this.dir, during }, 'event log failed; reopen to recover')
    }
    return err
  }
}

/** An `INVALID_ARGUMENT` error with `details`. */
export function invalid(message: string, details: Record<string, unknown>): AzothError {
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
