import { join } from 'node:path'
import type { FileSystem } from '@azothdb/core/internal'
import { writeFully } from './fs-util.js'
import { Segment } from './segment.js'
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentFileName } from './segment-format.js'

/**
 * Creates an empty segment file starting at `firstId` and opens it for reading and writing. On a
 * failure (a full disk) the file is removed again, so a later attempt can create it afresh.
 */
export function createSegment(fs: FileSystem, dir: string, firstId: number): Segment {
  const segment = new Segment(firstId, join(dir, segmentFileName(firstId)))
  const fd = fs.openSync(segment.path, 'wx+')
  try {
    writeFully(fs, fd, encodeSegmentHeader(firstId), 0, SEGMENT_HEADER_BYTES, 0)
  } catch (e) {
    fs.closeSync(fd)
    fs.unlinkSync(segment.path)
    throw e
  }
  segment.fd = fd
  segment.writable = true
  segment.dirty = true
  return segment
}
