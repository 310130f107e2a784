import { CorruptionError } from '@azothdb/core'
import { type FileSystem, readEventId } from '@azothdb/core/internal'
import { readFully } from './fs-util.js'
import { END, RECORD, RecordReader } from './record-reader.js'
import type { Segment } from './segment.js'
import { RECORD_HEADER_BYTES, readU32, recordChecksumMatches } from './segment-format.js'

/** Where a segment stops being readable when nothing valid follows: a torn tail. */
export interface TornTail {
  readonly offset: number
  readonly reason: string
}

/**
 * Reads `segment`'s file from `segment.size` (the end of what is already known: the header or the
 * prefix a sidecar covers) to `fileSize`, checking every record and extending the segment's count
 * and index. Returns undefined when the file ends on a whole record, or the torn tail when it ends
 * in damage that no valid record follows. Raises `CORRUPTION` with file and offset when damage is
 * followed by a valid record, or a valid record carries the wrong id: that is not a torn write.
 * A read that fails raises `IO`: bytes never read are neither damage nor the end of the segment.
 *
 * With `writerMayBeActive` (a read-only open of the last segment) damage is always taken as the
 * tail: a live writer may be halfway through a record, and a later look may find the records it
 * wrote meanwhile, which must not be mistaken for corruption.
 */
export function scanSegment(
  fs: FileSystem,
  segment: Segment,
  fd: number,
  fileSize: number,
  chunkBytes: number,
  indexIntervalBytes: number,
  writerMayBeActive: boolean,
): TornTail | undefined {
  const reader = new RecordReader(fs, segment.path, () => fd, segment.size, fileSize, chunkBytes, false)
  for (;;) {
    const status = reader.next()
    if (status === END) return undefined
    if (status === RECORD) {
      const expected = segment.firstId + segment.count
      if (reader.id !== expected) {
        throw new CorruptionError(
          `segment ${segment.path} holds id ${reader.id} at offset ${reader.recordOffset}, expected ${expected}`,
          { details: { file: segment.path, offset: reader.recordOffset, reason: 'unexpected id' } },
        )
      }
      segment.noteRecord(
        reader.id,
        reader.recordOffset,
        RECORD_HEADER_BYTES + reader.length,
        indexIntervalBytes,
      )
      continue
    }
    const offset = reader.recordOffset
    if (writerMayBeActive) return { offset, reason: reader.damage }
    const later = findValidRecordAfter(
      fs,
      segment.path,
      fd,
      offset + 1,
      fileSize,
      segment.firstId + segment.count,
    )
    if (later !== undefined) {
      throw new CorruptionError(
        `segment ${segment.path} is damaged at offset ${offset} (${reader.damage}) and valid records follow at ${later}`,
        { details: { file: segment.path, offset, reason: reader.damage, nextValidOffset: later } },
      )
    }
    return { offset, reason: reader.damage }
  }
}

/**
 * The offset of the first intact record at or after `from` whose id is at least `minId`, or
 * undefined. Searches byte by byte (the damage may have shifted everything), rejecting cheaply on
 * the id and length before checking a checksum.
 */
function findValidRecordAfter(
  fs: FileSystem,
  file: string,
  fd: number,
  from: number,
  end: number,
  minId: number,
): number | undefined {
  const window = Buffer.allocUnsafe(1024 * 1024 + RECORD_HEADER_BYTES)
  const maxId = minId + Math.ceil((end - from) / RECORD_HEADER_BYTES)
  let start = from
  while (start + RECORD_HEADER_BYTES <= end) {
    const filled = readFully(fs, fd, file, window, 0, Math.min(window.length, end - start), start)
    if (filled < RECORD_HEADER_BYTES) return undefined
    const lastCandidate = filled - RECORD_HEADER_BYTES
    for (let p = 0; p <= lastCandidate; p++) {
      const id = readEventId(window, p)
      if (id < minId || id > maxId) continue
      const length = readU32(window, p + 8)
      const at = start + p
      if (at + RECORD_HEADER_BYTES + length > end) continue
      const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length)
      if (readFully(fs, fd, file, record, 0, record.length, at) !== record.length) continue
      if (recordChecksumMatches(record, 0, length)) return at
    }
    start += lastCandidate + 1
  }
  return undefined
}
