import { existsSync, type Stats, statSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, isAzothError } from '@azothdb/core'
import type { FileSystem } from '@azothdb/core/internal'
import { readCompactionMark } from './compaction-mark.js'
import { readFully, statOpenFile } from './fs-util.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import { scanLog } from './scan-log.js'
import { Segment } from './segment.js'
import { decodeSegmentHeader, SEGMENT_HEADER_BYTES, segmentFileName } from './segment-format.js'
import { scanSegment } from './segment-scanner.js'
import type { SegmentSet } from './segment-set.js'

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
    if (last.fd < 0 && !openSegmentFile(opts.fs, last)) break
    const held = statOpenFile(opts.fs, last.fd, last.path)
    const current = statIfExists(last.path)
    if (current === undefined) return false
    // A segment the writer created but has not written its header into yet (the view was opened
    // in between): nothing is readable yet, nothing was cut.
    if (held.size < SEGMENT_HEADER_BYTES && last.count === 0 && current.ino === held.ino) break
    if (held.size < last.size || current.ino !== held.ino) {
      throw truncated(last.path, last.lastId)
    }
    const torn = scanSegment(
      opts.fs,
      last,
      last.fd,
      held.size,
      opts.readChunkBytes,
      opts.indexIntervalBytes,
      true,
    )
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
function openSegmentFile(fs: FileSystem, segment: Segment): boolean {
  let fd: number
  try {
    fd = fs.openSync(segment.path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new AzothError('IO', `cannot open ${segment.path}`, { cause: e, details: { file: segment.path } })
  }
  try {
    if (statOpenFile(fs, fd, segment.path).size < SEGMENT_HEADER_BYTES) {
      fs.closeSync(fd)
      return false
    }
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES)
    readFully(fs, fd, segment.path, header, 0, SEGMENT_HEADER_BYTES, 0)
    decodeSegmentHeader(header, segment.path)
  } catch (e) {
    fs.closeSync(fd)
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

/**
 * Brings a read-only view up to date with the writer's compaction: drops the segments below the
 * compaction mark (iterators over them stop with `NOT_FOUND`, as in the writer's process), or
 * rescans the log from the mark when nothing of the view is left. Raises `INVALID_ARGUMENT` when
 * the rescanned log ends below what the view had seen (the writer cut it).
 */
export function followCompaction(
  set: SegmentSet,
  dir: string,
  opts: ResolvedFileEventLogOptions,
): 'same' | 'dropped' | 'rescanned' | 'rescanned-empty' {
  const mark = readCompactionMark(opts.fs, dir)
  if (mark === undefined || mark.firstId <= set.oldest()) return 'same'
  const seen = set.head()
  const kept = set.list.filter((s) => s.firstId >= mark.firstId)
  if (kept.length > 0 && kept[0]!.firstId === mark.firstId) {
    for (const s of set.list) if (s.firstId < mark.firstId) set.forget(s)
    set.list = kept
    return 'dropped'
  }
  let scan: ReturnType<typeof scanLog>
  try {
    scan = scanLog(dir, opts)
  } catch (e) {
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot rescan the event log in ${dir}`, { cause: e, details: { dir } })
  }
  const segments = scan.segments
  if (segments[segments.length - 1]!.lastId < seen) {
    for (const s of segments) if (s.fd >= 0) opts.fs.closeSync(s.fd)
    throw truncated(set.last.path, seen)
  }
  for (const s of set.list) set.forget(s)
  set.list = segments
  return scan.repairs.createFirst ? 'rescanned-empty' : 'rescanned'
}

/** The view can no longer be extended: the writer cut the log below what it had seen. */
export function truncated(file: string, seen: number): AzothError {
  return new AzothError(
    'INVALID_ARGUMENT',
    'the writer truncated the log below what this reader saw; reopen it',
    {
      details: { file, seen },
    },
  )
}
