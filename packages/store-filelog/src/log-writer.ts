import { isAzothError } from '@azothdb/core'
import { crc32c, type FileSystem, fsyncPathSync, readEventId, writeEventId } from '@azothdb/core/internal'
import { writeCompactionMark } from './compaction-mark.js'
import { createSegment } from './create-segment.js'
import { fsyncDirectory, writeFully } from './fs-util.js'
import { removeSidecar, writeSidecar } from './index-sidecar.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import { sealRecords } from './record-checksums.js'
import { RecordLocator } from './record-locator.js'
import type { Segment } from './segment.js'
import { RECORD_HEADER_BYTES, readU32, writeRecordIdAndLength, writeU32 } from './segment-format.js'
import type { SegmentSet } from './segment-set.js'

/**
 * The writing side of a log: a write buffer in front of the last segment, rotation, cuts, and
 * syncs. A write that fails (a full disk) is rolled back to where the log stood before it, so the
 * files never keep a partial record and writing resumes once the cause is gone; only when the
 * rollback itself fails, or an fdatasync fails (the kernel may have dropped the pages it could not
 * write), is the log `broken`: what is on disk is then unknown until it is reopened.
 */
export class LogWriter {
  /** The failure that left the files in an unknown state, if any. */
  broken: unknown
  /** Failures that were logged and survived (index sidecar writes). */
  backgroundErrors = 0
  readonly #set: SegmentSet
  readonly #dir: string
  readonly #opts: ResolvedFileEventLogOptions
  readonly #fs: FileSystem
  readonly #buffer: Buffer
  /** Bytes of records in `#buffer`: the tail of the last segment not yet handed to the OS. */
  #buffered = 0
  readonly #recordHeader = Buffer.alloc(RECORD_HEADER_BYTES)
  readonly #locator: RecordLocator
  #dirDirty = false
  #pendingSidecars: Segment[] = []
  // Where the log stood before the current write, to roll it back to should it fail (fields, not
  // an object: appends take this mark every call).
  #markSegments = 0
  #markHead = 0
  #markSize = 0
  #markBuffered = 0

  constructor(set: SegmentSet, dir: string, opts: ResolvedFileEventLogOptions) {
    this.#set = set
    this.#dir = dir
    this.#opts = opts
    this.#fs = opts.fs
    this.#buffer = Buffer.allocUnsafe(opts.writeBufferBytes)
    this.#locator = new RecordLocator(opts.fs, opts.indexIntervalBytes + 1024)
  }

  /** Bytes appended but not yet handed to the OS (reads must flush them first). */
  get buffered(): number {
    return this.#buffered
  }

  /** Appends checked records; all of them or, when a write fails, none (the error is thrown). */
  append(firstId: number, records: readonly Uint8Array[]): void {
    this.#mark()
    try {
      for (let i = 0; i < records.length; i++) this.#writeRecord(firstId + i, records[i]!)
    } catch (e) {
      this.#rollBack(e)
      throw e
    }
  }

  /** Hands the write buffer to the OS; on failure the file is cut back and the buffer kept. */
  flush(): void {
    if (this.#buffered === 0) return
    this.#mark()
    try {
      this.#flushBuffer()
    } catch (e) {
      this.#rollBack(e)
      throw e
    }
  }

  /** Flush, fdatasync every written segment, fsync the directory if files came or went. */
  async sync(): Promise<void> {
    this.flush()
    const segs = this.#set.list
    try {
      const dirty: Segment[] = []
      for (let i = segs.length - 1; i >= 0; i--) {
        const s = segs[i]!
        if (s.dirty) {
          s.dirty = false
          dirty.push(s)
        } else if (this.#pendingSidecars.length === 0) {
          break // Older segments are sealed and were synced.
        }
      }
      const fs = this.#fs
      if (dirty.length === 1) await fs.fdatasync(dirty[0]!.fd)
      else if (dirty.length > 1) await Promise.all(dirty.map((s) => fs.fdatasync(s.fd)))
      if (this.#dirDirty) {
        this.#dirDirty = false
        await fsyncDirectory(fs, this.#dir)
      }
    } catch (e) {
      this.broken ??= e
      throw e
    }
    if (this.#pendingSidecars.length > 0) {
      const ready = this.#pendingSidecars.filter((s) => !s.dirty && !s.retired)
      this.#pendingSidecars = this.#pendingSidecars.filter((s) => s.dirty && !s.retired)
      for (const s of ready) {
        await this.writeSidecarLogged(s)
        // Synced and sealed: its write descriptor goes; reads reopen it on demand.
        if (s.writable && s !== this.#set.last && s.fd >= 0) this.#set.closeFd(s)
      }
    }
  }

  /**
   * Removes every record after `id` (at most the head) and makes that durable. Records still in
   * the write buffer are dropped there, never written first: a cut must work on a full disk.
   */
  async cutAfter(id: number): Promise<void> {
    try {
      await this.#cut(id)
    } catch (e) {
      // Half a cut leaves memory and files apart: only a reopen can tell where the log ends.
      if (!isAzothError(e)) this.broken ??= e
      throw e
    }
  }

  async #cut(id: number): Promise<void> {
    const set = this.#set
    const segs = set.list
    if (id + 1 < segs[0]!.firstId) {
      await this.#restartAt(id + 1)
      return
    }
    let k = segs.length - 1
    while (segs[k]!.firstId > id + 1) k--
    if (k === segs.length - 1 && this.#cutInBuffer(id)) return
    const segment = segs[k]!
    // Where the cut goes is read before anything changes: a read that fails (IO) leaves the log as
    // it was, and usable. Record id + 1 is in the file: the write buffer holds only later ones.
    const offset = this.#locator.locate(segment, set.fdFor(segment), id + 1, false)
    this.#buffered = 0 // Everything buffered lies after the cut.
    let removed = false
    while (segs.length - 1 > k) {
      set.retire(segs.pop()!)
      removed = true
    }
    if (!segment.writable) {
      // A sealed segment becomes the active one again.
      if (segment.fd >= 0) set.closeFd(segment)
      segment.fd = this.#fs.openSync(segment.path, 'r+')
      segment.writable = true
    }
    if (segment.sidecarSize > offset) {
      removeSidecar(this.#fs, segment.path)
      segment.sidecarSize = 0
      removed = true
    }
    // Removals must be durable before the segment is cut: otherwise a power loss could bring back
    // later segments, or a sidecar, that no longer match it.
    if (removed) fsyncPathSync(this.#dir, this.#fs)
    this.#fs.ftruncateSync(segment.fd, offset)
    segment.truncateTo(id, offset)
    segment.dirty = true
    this.#pendingSidecars = this.#pendingSidecars.filter((s) => !s.retired && s !== segs[segs.length - 1])
    this.#dirDirty = true
    await this.sync()
  }

  /**
   * Deletes the segments before `keep` (an index of the set): records the new first id in the
   * compaction mark first, so that open can tell these deletions from lost segments. A failure to
   * write the mark deletes nothing; a failure to delete leaves files the next open removes.
   */
  async dropBefore(keep: number): Promise<void> {
    const segs = this.#set.list
    await writeCompactionMark(this.#fs, this.#dir, { firstId: segs[keep]!.firstId, restart: false })
    try {
      for (let i = 0; i < keep; i++) this.#set.retire(segs[i]!)
    } finally {
      this.#set.list = segs.filter((s) => !s.retired)
      this.#pendingSidecars = this.#pendingSidecars.filter((s) => !s.retired)
      this.#dirDirty = true
    }
    await this.sync()
  }

  async writeSidecarLogged(segment: Segment): Promise<void> {
    try {
      await writeSidecar(this.#fs, segment)
    } catch (e) {
      // Only costs a scan of this segment at the next open.
      this.backgroundErrors++
      this.#opts.logger.warn({ err: e, file: segment.path }, 'could not write event log index sidecar')
    }
  }

  /** Every segment goes and the log starts again, empty, at `firstId` (below its oldest id). */
  async #restartAt(firstId: number): Promise<void> {
    this.#buffered = 0
    // The mark goes first: segments below it are dropped ones, whatever a crash leaves behind.
    await writeCompactionMark(this.#fs, this.#dir, { firstId, restart: true })
    const set = this.#set
    while (set.list.length > 0) set.retire(set.list.pop()!)
    this.#pendingSidecars = []
    set.list.push(createSegment(this.#fs, this.#dir, firstId))
    this.#dirDirty = true
    await this.sync()
    // From here on a missing segment is corruption again.
    await writeCompactionMark(this.#fs, this.#dir, { firstId, restart: false })
  }

  /** Cuts inside the write buffer when every record after `id` is still there. */
  #cutInBuffer(id: number): boolean {
    const n = this.#buffered
    if (n === 0) return false
    const b = this.#buffer
    let current = readEventId(b, 0)
    if (id + 1 < current) return false
    let p = 0
    while (current <= id) {
      p += RECORD_HEADER_BYTES + readU32(b, p + 8)
      current++
    }
    const segment = this.#set.last
    const end = segment.size - n + p
    this.#buffered = p
    segment.truncateTo(id, end)
    return true
  }

  #mark(): void {
    const last = this.#set.last
    this.#markSegments = this.#set.list.length
    this.#markHead = last.lastId
    this.#markSize = last.size
    this.#markBuffered = this.#buffered
  }

  /**
   * Puts the log back where the mark found it after `cause` failed a write: segments created
   * since are deleted and the mark's segment is cut back to what reached its file before. Records
   * buffered before the mark stay buffered unless a flush since then wrote them.
   */
  #rollBack(cause: unknown): void {
    const set = this.#set
    const segs = set.list
    const markBase = this.#markSize - this.#markBuffered
    // A successful flush moves where the buffer starts; a failed one does not.
    const bufferUntouched = segs.length === this.#markSegments && set.last.size - this.#buffered === markBase
    try {
      while (segs.length > this.#markSegments) set.retire(segs.pop()!)
      const segment = set.last
      this.#pendingSidecars = this.#pendingSidecars.filter((s) => s !== segment && !s.retired)
      this.#buffered = bufferUntouched ? this.#markBuffered : 0
      this.#fs.ftruncateSync(segment.fd, bufferUntouched ? markBase : this.#markSize)
      segment.truncateTo(this.#markHead, this.#markSize)
      segment.dirty = true
    } catch (e) {
      this.broken ??= e
      this.#opts.logger.error({ err: e, cause }, 'could not roll back a failed event log write')
    }
  }

  #writeRecord(id: number, bytes: Uint8Array): void {
    const length = bytes.length
    const total = RECORD_HEADER_BYTES + length
    let segment = this.#set.last
    if (segment.count > 0 && segment.size + total > this.#opts.segmentBytes) segment = this.#rotate()
    if (this.#buffered + total > this.#buffer.length) this.#flushBuffer()
    const offset = segment.size
    if (total > this.#buffer.length) {
      // Larger than the buffer: header from a scratch, payload straight from the caller.
      const h = this.#recordHeader
      writeEventId(h, 0, id)
      writeU32(h, 8, length)
      writeU32(h, 12, crc32c(bytes, 0, length, crc32c(h, 0, 12)))
      segment.dirty = true
      writeFully(this.#fs, segment.fd, h, 0, RECORD_HEADER_BYTES, offset)
      writeFully(this.#fs, segment.fd, bytes, 0, length, offset + RECORD_HEADER_BYTES)
    } else {
      const b = this.#buffer
      const p = this.#buffered
      b.set(bytes, p + RECORD_HEADER_BYTES)
      // Checksums are written for the whole buffer at once when it is flushed.
      writeRecordIdAndLength(b, p, id, length)
      this.#buffered = p + total
    }
    segment.noteRecord(id, offset, total, this.#opts.indexIntervalBytes)
  }

  /** Hands the write buffer to the OS (page cache). */
  #flushBuffer(): void {
    if (this.#buffered === 0) return
    const segment = this.#set.last
    sealRecords(this.#buffer, 0, this.#buffered)
    segment.dirty = true
    writeFully(this.#fs, segment.fd, this.#buffer, 0, this.#buffered, segment.size - this.#buffered)
    this.#buffered = 0
  }

  #rotate(): Segment {
    this.#flushBuffer()
    const sealed = this.#set.last
    const next = createSegment(this.#fs, this.#dir, sealed.lastId + 1)
    this.#set.list.push(next)
    this.#pendingSidecars.push(sealed)
    this.#dirDirty = true
    return next
  }
}
