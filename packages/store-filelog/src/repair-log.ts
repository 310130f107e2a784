import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { compactionMarkTempPath, removeIfPresent } from './compaction-mark.js'
import { createSegment } from './create-segment.js'
import { datasync, fsyncDirectory } from './fs-util.js'
import { removeSidecar } from './index-sidecar.js'
import type { LogScan } from './scan-log.js'
import { encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './segment-format.js'

/**
 * Phase two of a writer's open, run only once {@link scanLog} found the log sound: makes the
 * directory what the scan decided (torn tail cut, dropped segments removed, a missing first segment
 * created), durably, and leaves the last segment open for writing. Returns the segments.
 */
export async function repairLog(dir: string, scan: LogScan): Promise<LogScan['segments']> {
  const { segments, repairs } = scan
  let dirChanged = false
  // Later segments go first, durably, so that a crash in between never leaves a gap.
  if (repairs.removeAfterTear.length > 0) {
    removeSegmentFiles(repairs.removeAfterTear)
    await fsyncDirectory(dir)
  }
  if (repairs.removeBelowMark.length > 0 || repairs.removeMarkTemp) {
    removeSegmentFiles(repairs.removeBelowMark)
    removeIfPresent(compactionMarkTempPath(dir))
    dirChanged = true
  }
  if (repairs.createFirst) {
    segments[0] = createSegment(dir, segments[0]!.firstId)
    dirChanged = true
  } else {
    const last = segments[segments.length - 1]!
    // Opened read-only by the scan: from here on it is the segment appends go to.
    if (last.fd >= 0) closeSync(last.fd)
    last.fd = openSync(last.path, 'r+')
    last.writable = true
    if (repairs.writeLastHeader) {
      writeSync(last.fd, encodeSegmentHeader(last.firstId), 0, SEGMENT_HEADER_BYTES, 0)
      ftruncateSync(last.fd, SEGMENT_HEADER_BYTES)
    } else if (repairs.cutLastAt !== undefined) {
      ftruncateSync(last.fd, repairs.cutLastAt) // A sidecar only covers what precedes a tear.
    }
    if (repairs.writeLastHeader || repairs.cutLastAt !== undefined) await datasync(last.fd)
  }
  if (dirChanged) await fsyncDirectory(dir)
  return segments
}

function removeSegmentFiles(paths: readonly string[]): void {
  for (const path of paths) {
    removeIfPresent(path)
    removeSidecar(path)
  }
}
