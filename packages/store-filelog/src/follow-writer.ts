import { closeSync, existsSync, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError } from '@azothdb/core'
import type { ResolvedFileEventLogOptions } from './options.js'
import { Segment } from './segment.js'
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentFileName } from './segment-format.js'
import { scanSegment } from './segment-scanner.js'

/**
 * Brings a read-only view of the log up to date with its writer: scans what was appended to the
 * last known segment and opens the segments created after it, stopping at a record the writer is
 * still writing. Returns false, changing nothing, when the last segment of the view is gone (the
 * writer compacted it away, or cut it off); raises `INVALID_ARGUMENT` when it shrank or was
 * replaced (the writer ran `truncateAfter`): the view can no longer be extended, only reopened.
 */
export function followWriter(segments: Segment[], dir: string, opts: ResolvedFileEventLogOptions): boolean {
  for (;;) {
    const last = segments[segments.length - 1]!
    if (last.fd < 0 && !openSegmentFile(last)) break
    const held = fstatSync(last.fd)
    const current = statIfExists(last.path)
    if (current === undefined) return false
    if (held.size < last.size || current.ino !== held.ino) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        'the writer truncated the log below what this reader saw; reopen it',
        {
          details: { file: last.path, size: held.size, seen: last.size },
        },
      )
    }
    const torn = scanSegment(last, last.fd, held.size, opts.readChunkBytes, opts.indexIntervalBytes, true)
    if (torn !== undefined || last.count === 0) break // The writer is mid-record, or nothing new.
    const next = new Segment(last.lastId + 1, join(dir, segmentFileName(last.lastId + 1)))
    if (!existsSync(next.path)) break
    segments.push(next)
  }
  const last = segments[segments.length - 1]!
  if (last.fd < 0 && segments.length > 1) segments.pop() // Created, but nothing readable yet.
  return true
}

/** Opens a segment the writer created after this view was taken; false while it has no header. */
function openSegmentFile(segment: Segment): boolean {
  let fd: number
  try {
    fd = openSync(segment.path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new AzothError('IO', `cannot open ${segment.path}`, { cause: e, details: { file: segment.path } })
  }
  try {
    if (fstatSync(fd).size < SEGMENT_HEADER_BYTES) {
      closeSync(fd)
      return false
    }
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES)
    readSync(fd, header, 0, SEGMENT_HEADER_BYTES, 0)
    decodeSegmentHeader(header, segment.path)
  } catch (e) {
    closeSync(fd)
    throw e
  }
  segment.fd = fd
  return true
}

function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AzothError('IO', `cannot stat ${path}`, { cause: e, details: { file: path } })
  }
}
