import { CorruptionError } from '@azothdb/core'
import { type FileSystem, readEventId } from '@azothdb/core/internal'
import { readFully } from './fs-util.js'
import type { Segment } from './segment.js'
import { RECORD_HEADER_BYTES, readU32, recordChecksumMatches } from './segment-format.js'

/**
 * Finds one record inside a segment: binary search of the sparse index, then a forward walk over
 * record headers from that entry, all within one positional read in the common case. Reuses a
 * scratch buffer, so a located record's bytes are valid only until the next call. A failed read is
 * `IO`, never taken for damage.
 */
export class RecordLocator {
  /** After {@link locate}: the buffer holding the record, when its payload was asked for. */
  buffer: Buffer
  payloadStart = 0
  length = 0
  private readonly scratch: Buffer

  /**
   * `firstReadBytes` should cover the distance between two index entries plus a typical record,
   * so one read usually holds both the walk and the record.
   */
  constructor(
    private readonly fs: FileSystem,
    private readonly firstReadBytes: number,
  ) {
    this.scratch = Buffer.allocUnsafe(Math.max(firstReadBytes, 64 * 1024))
    this.buffer = this.scratch
  }

  /**
   * Returns the file offset of record `id` (which `segment`, open as `fd`, must hold). With `withPayload`, also
   * reads and checks the whole record (`buffer`, `payloadStart`, `length`); `CORRUPTION` with file
   * and offset when the walk or the checksum fails.
   */
  locate(segment: Segment, fd: number, id: number, withPayload: boolean): number {
    const index = segment.index
    const entry = index.floor(id)
    if (entry < 0) throw corrupt(segment, segment.size, 'sparse index has no entry for the id')
    let current = index.idAt(entry)
    let bufferStart = index.offsetAt(entry)
    let buf = this.scratch
    const want = this.firstRead(segment, entry, current, bufferStart, id, withPayload)
    let filled = this.readAt(segment, fd, buf, bufferStart, want)
    let pos = 0
    for (;;) {
      if (filled - pos < RECORD_HEADER_BYTES) {
        bufferStart += pos
        pos = 0
        filled = this.readAt(segment, fd, buf, bufferStart, this.firstReadBytes)
        if (filled < RECORD_HEADER_BYTES) throw corrupt(segment, bufferStart, 'segment ends inside a record')
      }
      const headerId = readEventId(buf, pos)
      const length = readU32(buf, pos + 8)
      if (headerId !== current) {
        throw corrupt(segment, bufferStart + pos, `expected id ${current}, found ${headerId}`)
      }
      if (current === id) {
        const offset = bufferStart + pos
        if (!withPayload) return offset
        const total = RECORD_HEADER_BYTES + length
        if (filled - pos < total) {
          if (buf.length < total) buf = Buffer.allocUnsafe(total)
          bufferStart = offset
          pos = 0
          filled = this.readAt(segment, fd, buf, bufferStart, total)
          if (filled < total) throw corrupt(segment, offset, 'segment ends inside a record')
        }
        if (!recordChecksumMatches(buf, pos, length))
          throw corrupt(segment, offset, 'record checksum mismatch')
        this.buffer = buf
        this.payloadStart = pos + RECORD_HEADER_BYTES
        this.length = length
        return offset
      }
      pos += RECORD_HEADER_BYTES + length
      current++
    }
  }

  /**
   * How much to read from index entry `entry` (record `fromId` at offset `from`) to reach record
   * `id` (and its payload). A read's cost grows with its length (the kernel copies every byte), so
   * it stops near where the record should end, judged from the mean record size between this entry
   * and the next, with one more mean record as slack; past the next entry it never reads, as the
   * record ends before it. A guess that falls short costs one more read.
   */
  private firstRead(
    segment: Segment,
    entry: number,
    fromId: number,
    from: number,
    id: number,
    withPayload: boolean,
  ): number {
    const index = segment.index
    const last = entry + 1 === index.length
    const nextId = last ? segment.lastId + 1 : index.idAt(entry + 1)
    const stretch = (last ? segment.size : index.offsetAt(entry + 1)) - from
    const mean = stretch / (nextId - fromId)
    const records = id - fromId + (withPayload ? 2 : 1)
    const guess = Math.ceil(records * mean) + RECORD_HEADER_BYTES
    return Math.min(stretch, guess, this.scratch.length)
  }

  /** Reads up to `max` bytes at `at` into `buf`, never past the segment's end (short reads continued). */
  private readAt(segment: Segment, fd: number, buf: Buffer, at: number, max: number): number {
    const want = Math.min(max, segment.size - at)
    return want <= 0 ? 0 : readFully(this.fs, fd, segment.path, buf, 0, want, at)
  }
}

function corrupt(segment: Segment, offset: number, reason: string): CorruptionError {
  return new CorruptionError(`segment ${segment.path} is damaged at offset ${offset}: ${reason}`, {
    details: { file: segment.path, offset, reason },
  })
}
