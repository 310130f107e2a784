import type { FileSystem } from '@azothdb/core/internal'
import { compactionMarkTempPath } from './compaction-mark.js'
import { createSegment } from './create-segment.js'
import { fsyncDirectory, removeIfPresent, writeFully } from './fs-util.js'
import { removeSidecar } from './index-sidecar.js'
import type { LogScan } from './scan-log.js'
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './segment-format.js'

/**
 * Phase two of a writer's open, run only once {@link scanLog} found the log sound: makes the
 * directory what the scan decided (torn tail cut, dropped segments removed, a missing first segment
 * created), durably, and leaves the last segment open for writing. Returns the segments.
 */
export async function repairLog(fs: FileSystem, dir: string, scan: LogScan): Promise<LogScan['segments']> {
  const { segments, repairs } = scan
  let dirChanged = false
  // Later segments go first, durably, so that a crash in between never leaves a gap.
  if (repairs.removeAfterTear.length > 0) {
    removeSegmentFiles(fs, repairs.removeAfterTear)
    await fsyncDirectory(fs, dir)
  }
  if (repairs.removeBelowMark.length > 0 || repairs.removeMarkTemp) {
    removeSegmentFiles(fs, repairs.removeBelowMark)
    removeIfPresent(fs, compactionMarkTempPath(dir))
    dirChanged = true
  }
  if (repairs.createFirst) {
    segments[0] = createSegment(fs, dir, segments[0]!.firstId)
    dirChanged = true
  } else {
    const last = segments[segments.length - 1]!
    // Opened read-only by the scan: from here on it is the segment appends go to.
    if (last.fd >= 0) fs.closeSync(last.fd)
    last.fd = fs.openSync(last.path, 'r+')
    last.writable = true
    if (repairs.writeLastHeader) {
      writeFully(fs, last.fd, encodeSegmentHeader(last.firstId), 0, SEGMENT_HEADER_BYTES, 0)
      fs.ftruncateSync(last.fd, SEGMENT_HEADER_BYTES)
    } else if (repairs.cutLastAt !== undefined) {
      fs.ftruncateSync(last.fd, repairs.cutLastAt) // A sidecar only covers what precedes a tear.
    }
    if (repairs.writeLastHeader || repairs.cutLastAt !== undefined) await fs.fdatasync(last.fd)
  }
  if (dirChanged) await fsyncDirectory(fs, dir)
  return segments
}

function removeSegmentFiles(fs: FileSystem, paths: readonly string[]): void {
  for (const path of paths) {
    removeIfPresent(fs, path)
    removeSidecar(fs, path)
  }
}
