import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Segment } from './segment.js'
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentFileName } from './segment-format.js'

/**
 * Creates an empty segment file starting at `firstId` and opens it for reading and writing. On a
 * failure (a full disk) the file is removed again, so a later attempt can create it afresh.
 */
export function createSegment(dir: string, firstId: number): Segment {
  const segment = new Segment(firstId, join(dir, segmentFileName(firstId)))
  const fd = openSync(segment.path, 'wx+')
  try {
    const header = encodeSegmentHeader(firstId)
    let done = 0
    while (done < SEGMENT_HEADER_BYTES) done += writeSync(fd, header, done, SEGMENT_HEADER_BYTES - done, done)
  } catch (e) {
    closeSync(fd)
    unlinkSync(segment.path)
    throw e
  }
  segment.fd = fd
  segment.writable = true
  segment.dirty = true
  return segment
}
