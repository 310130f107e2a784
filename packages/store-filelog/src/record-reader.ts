import { readSync } from 'node:fs'
import { readEventId } from '@azoth/core'
import type { ChecksumJob, ChecksumWorker } from './checksum-worker.js'
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
   * Set for long sequential reads: from the second chunk on, the next chunk is read ahead and its
   * checksums are checked by this worker while the current one is consumed.
   */
  readAhead: (() => ChecksumWorker | undefined) | undefined
  private ahead: ReadAhead | undefined
  private fills = 0

  constructor(
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
      if (ahead.fileOffset === this.bufferFileOffset + this.pos && ahead.filled >= need) {
        this.setBuffer(ahead.buffer)
        this.bufferFileOffset = ahead.fileOffset
        this.pos = 0
        this.filled = ahead.filled
        this.verified = ahead.job.result()
        this.startReadAhead()
        return true
      }
    }
    const ok = this.fillFromFile(need)
    if (this.readAhead !== undefined && this.freshChunks && this.fills++ > 0) this.startReadAhead()
    return ok
  }

  /** Reads the chunk after the whole records of this one and has its checksums checked meanwhile. */
  private startReadAhead(): void {
    const worker = this.readAhead?.()
    if (worker === undefined) return
    const b = this.buffer
    let o = this.pos
    while (this.filled - o >= RECORD_HEADER_BYTES) {
      const total = RECORD_HEADER_BYTES + readU32(b, o + 8)
      if (this.filled - o < total) break
      o += total
    }
    const fileOffset = this.bufferFileOffset + o
    const size = Math.min(this.chunkBytes, this.end - fileOffset)
    if (size < RECORD_HEADER_BYTES) return
    const buffer = Buffer.allocUnsafe(size)
    let filled = 0
    try {
      while (filled < size) {
        const n = readSync(this.fd(), buffer, filled, size - filled, fileOffset + filled)
        if (n === 0) break
        filled += n
      }
    } catch (e) {
      // Only a guess at what comes next: the reader's own read of this chunk raises what is real.
      worker.readAheadFailed(e)
      return
    }
    const job = filled >= RECORD_HEADER_BYTES ? worker.submit(buffer, filled) : undefined
    if (job !== undefined) this.ahead = { buffer, fileOffset, filled, job }
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
    while (this.filled < need) {
      const want = Math.min(target.length - this.filled, this.end - (this.bufferFileOffset + this.filled))
      if (want <= 0) break
      const n = readSync(this.fd(), target, this.filled, want, this.bufferFileOffset + this.filled)
      if (n === 0) break
      this.filled += n
    }
    return this.filled >= need
  }
}

/** A chunk read ahead of the reader, its checksums being checked by the worker. */
interface ReadAhead {
  readonly buffer: Buffer
  readonly fileOffset: number
  readonly filled: number
  readonly job: ChecksumJob
}
