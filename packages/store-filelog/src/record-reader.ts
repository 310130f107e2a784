import { type FileSystem, readEventId } from '@azothdb/core/internal'
import { readFully } from './fs-util.js'
import type { ReadAheadJob, ReadAheadWorker } from './read-ahead-worker.js'
import { verifyRecords } from './record-checksums.js'
import { RECORD_HEADER_BYTES, readU32, recordChecksumMatches } from './segment-format.js'

/** {@link RecordReader.next} found a whole, intact record. */
export const RECORD = 0
/** {@link RecordReader.next} reached the end offset. */
export const END = 1
/** {@link RecordReader.next} found a torn or damaged record (see `damage`). */
export const DAMAGED = 2
/** What {@link RecordReader.next} found (small integers: this runs once per record). */
export type ReadStatus = typeof RECORD | typeof END | typeof DAMAGED

/**
 * Reads the records of one segment file sequentially between two offsets with large reads,
 * checking each record's checksum. After {@link RECORD}, `id`, `recordOffset`, `buffer`,
 * `payloadStart` and `length` describe it; after {@link DAMAGED}, `recordOffset` and `damage` say
 * where and why.
 *
 * With `freshChunks`, every refill goes into a newly allocated buffer, so payload views handed
 * out earlier stay valid (no copy per record); without it the buffer is reused.
 *
 * A read that fails raises `IO` (and the reader stays where it was); only the end of the file is
 * taken as the end of the records.
 */
export class RecordReader {
  buffer: Buffer
  /**
   * `buffer.buffer` and `buffer.byteOffset`, read once per chunk: those getters call into C++ and
   * cost more than the rest of handing out a record view.
   */
  arrayBuffer: ArrayBufferLike
  byteOffset = 0
  id = 0
  length = 0
  payloadStart = 0
  recordOffset = 0
  damage = ''

  private bufferFileOffset: number
  private filled = 0
  private pos = 0
  /** Records of `buffer` before this offset had their checksums checked in bulk. */
  private verified = 0
  /**
   * Set for long sequential reads: from the second chunk on, the worker reads the next chunk of
   * the file at `path` and checks its checksums while the current one is consumed.
   */
  readAhead: { readonly path: string; worker(): ReadAheadWorker | undefined } | undefined
  private ahead: ReadAhead | undefined
  private fills = 0

  constructor(
    private readonly fs: FileSystem,
    /** The file read (named by errors). */
    private readonly file: string,
    /** The descriptor to read with, asked for at every read (it may be reopened in between). */
    private readonly fd: () => number,
    start: number,
    private readonly end: number,
    private readonly chunkBytes: number,
    private readonly freshChunks: boolean,
  ) {
    this.bufferFileOffset = start
    this.buffer = Buffer.allocUnsafe(freshChunks ? 0 : chunkBytes)
    this.arrayBuffer = this.buffer.buffer
    this.byteOffset = this.buffer.byteOffset
  }

  /** File offset of the next record to read. */
  get position(): number {
    return this.bufferFileOffset + this.pos
  }

  /**
   * {@link next} for the common case, small enough to be inlined into a caller's loop: when the
   * next record is whole in the buffer and its checksum was already checked, reads it and returns
   * true; otherwise changes nothing and returns false (call {@link next}).
   */
  nextChecked(): boolean {
    const b = this.buffer
    const pos = this.pos
    const checked = this.verified - pos
    if (checked < RECORD_HEADER_BYTES) return false
    const length = readU32(b, pos + 8)
    // `verified` ends at a record boundary, so a header it covers comes with its payload.
    if (checked < RECORD_HEADER_BYTES + length) return false
    this.recordOffset = this.bufferFileOffset + pos
    this.id = readEventId(b, pos)
    this.length = length
    this.payloadStart = pos + RECORD_HEADER_BYTES
    this.pos = pos + RECORD_HEADER_BYTES + length
    return true
  }

  next(): ReadStatus {
    const offset = this.bufferFileOffset + this.pos
    this.recordOffset = offset
    if (offset >= this.end) return END
    if (this.filled - this.pos < RECORD_HEADER_BYTES && !this.fill(RECORD_HEADER_BYTES)) {
      return this.damaged('truncated record header')
    }
    const b = this.buffer
    const id = readEventId(b, this.pos)
    const length = readU32(b, this.pos + 8)
    if (id < 1) return this.damaged('invalid record id')
    const total = RECORD_HEADER_BYTES + length
    if (offset + total > this.end) return this.damaged('record runs past the end of the segment')
    if (this.filled - this.pos < total && !this.fill(total)) return this.damaged('truncated record')
    if (this.pos + total > this.verified) {
      // One bulk check covers this record and those after it in the buffer; a record it stops
      // at is torn in the buffer (checked alone below) or damaged.
      this.verified = verifyRecords(
        this.buffer,
        this.pos,
        Math.min(this.filled, this.end - this.bufferFileOffset),
      )
      if (this.pos + total > this.verified && !recordChecksumMatches(this.buffer, this.pos, length)) {
        return this.damaged('record checksum mismatch')
      }
    }
    this.id = id
    this.length = length
    this.payloadStart = this.pos + RECORD_HEADER_BYTES
    this.pos += total
    return RECORD
  }

  private setBuffer(buffer: Buffer): void {
    this.buffer = buffer
    this.arrayBuffer = buffer.buffer
    this.byteOffset = buffer.byteOffset
  }

  private damaged(reason: string): ReadStatus {
    this.damage = reason
    return DAMAGED
  }

  /** Makes at least `need` bytes available from `pos`; false at end of file. */
  private fill(need: number): boolean {
    const ahead = this.ahead
    if (ahead !== undefined) {
      this.ahead = undefined
      // The chunk read ahead starts at the first record not whole in this one: where we are now,
      // unless the records were not what their lengths said (then this reader stops at the damage).
      const chunk = ahead.fileOffset === this.bufferFileOffset + this.pos ? ahead.job.result() : undefined
      if (chunk === undefined) ahead.job.abandon()
      else if (chunk.filled >= need) {
        this.setBuffer(chunk.buffer)
        this.bufferFileOffset = ahead.fileOffset
        this.pos = 0
        this.filled = chunk.filled
        this.verified = chunk.checked
        // Checked up to the first record not whole in the chunk (or a damaged one, which this
        // reader stops at before it needs the next chunk).
        this.startReadAhead(ahead.fileOffset + chunk.checked)
        return true
      }
    }
    const ok = this.fillFromFile(need)
    if (this.readAhead !== undefined && this.freshChunks && this.fills++ > 0) {
      const b = this.buffer
      let o = this.pos
      while (this.filled - o >= RECORD_HEADER_BYTES) {
        const total = RECORD_HEADER_BYTES + readU32(b, o + 8)
        if (this.filled - o < total) break
        o += total
      }
      this.startReadAhead(this.bufferFileOffset + o)
    }
    return ok
  }

  /** Has the worker read and check the chunk at `fileOffset` (the start of a record). */
  private startReadAhead(fileOffset: number): void {
    const size = Math.min(this.chunkBytes, this.end - fileOffset)
    if (size < RECORD_HEADER_BYTES || this.readAhead === undefined) return
    const job = this.readAhead.worker()?.submit(this.readAhead.path, fileOffset, size)
    if (job !== undefined) this.ahead = { fileOffset, job }
  }

  /** Stops reading: a chunk being read ahead is not needed. */
  close(): void {
    this.ahead?.job.abandon()
    this.ahead = undefined
  }

  private fillFromFile(need: number): boolean {
    const remaining = this.filled - this.pos
    const size = Math.max(this.chunkBytes, need)
    let target = this.buffer
    if (this.freshChunks || target.length < size) {
      target = Buffer.allocUnsafe(size)
      if (remaining > 0) target.set(this.buffer.subarray(this.pos, this.filled), 0)
    } else if (remaining > 0) {
      target.copyWithin(0, this.pos, this.filled)
    }
    this.setBuffer(target)
    this.bufferFileOffset += this.pos
    this.pos = 0
    this.verified = 0
    this.filled = remaining
    const want = Math.min(target.length - this.filled, this.end - (this.bufferFileOffset + this.filled))
    if (this.filled < need && want > 0) {
      const at = this.bufferFileOffset + this.filled
      this.filled += readFully(this.fs, this.fd(), this.file, target, this.filled, want, at)
    }
    return this.filled >= need
  }
}

/** A chunk the worker reads and checks ahead of the reader. */
interface ReadAhead {
  readonly fileOffset: number
  readonly job: ReadAheadJob
}
