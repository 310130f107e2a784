import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'
import { AzothError, CorruptionError } from '@azothdb/core'
import { fsyncDirectorySync } from './fs-util.js'
import { loadSidecar, removeSidecar, sidecarPath } from './index-sidecar.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import { Segment } from './segment.js'
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './segment-format.js'
import { scanSegment } from './segment-scanner.js'

/** The segments of a directory after open-time recovery. */
export interface OpenedSegments {
  readonly segments: Segment[]
  /** Bytes of torn tail cut off (or, read-only, ignored). */
  readonly recoveredBytes: number
  /** True when recovery created, truncated or removed files (the directory needs an fsync). */
  readonly changed: boolean
}

/**
 * Opens every segment of `dir` in id order, checks headers, loads index sidecars and scans what
 * they do not cover. A torn tail (damage with nothing valid after it) is cut back to the last whole
 * record; a read-only open just stops there. Anything else that is wrong raises `CORRUPTION`.
 *
 * A torn tail in a segment that is not the last can only come from a power loss before a rotated
 * segment was synced; then the later segments hold nothing that was ever synced and are removed.
 * If a later segment has a sidecar (written only after a sync that covered everything before it),
 * the damage is corruption instead.
 */
export function openSegments(dir: string, opts: ResolvedFileEventLogOptions): OpenedSegments {
  const names = listSegments(dir)
  const segments: Segment[] = []
  let recoveredBytes = 0
  let changed = false
  try {
    if (names.length === 0) {
      segments.push(opts.readOnly ? new Segment(1, join(dir, segmentFileName(1))) : createSegment(dir, 1))
      return { segments, recoveredBytes, changed: !opts.readOnly }
    }
    for (let i = 0; i < names.length; i++) {
      const { firstId, name } = names[i]!
      const segment = new Segment(firstId, join(dir, name))
      try {
        segment.fd = openSync(segment.path, opts.readOnly ? 'r' : 'r+')
      } catch (e) {
        // A reader racing the writer's retention: the oldest segments may vanish after the listing.
        if (opts.readOnly && segments.length === 0 && i < names.length - 1 && isMissing(e)) continue
        throw e
      }
      segments.push(segment)
      segment.writable = !opts.readOnly
      const isLast = i === names.length - 1
      let fileSize = fstatSync(segment.fd).size
      if (fileSize < SEGMENT_HEADER_BYTES && isLast) {
        // Killed between creating the file and writing its header: an empty segment.
        if (!opts.readOnly) {
          writeSync(segment.fd, encodeSegmentHeader(firstId), 0, SEGMENT_HEADER_BYTES, 0)
          ftruncateSync(segment.fd, SEGMENT_HEADER_BYTES)
          changed = true
        }
        recoveredBytes += fileSize
        continue
      }
      const header = Buffer.alloc(SEGMENT_HEADER_BYTES)
      readSync(segment.fd, header, 0, SEGMENT_HEADER_BYTES, 0)
      const declared = decodeSegmentHeader(header, segment.path)
      if (declared !== firstId) {
        throw new CorruptionError(`segment ${segment.path} declares first id ${declared}`, {
          details: { file: segment.path, offset: 0, reason: 'header id does not match the file name' },
        })
      }
      if (!loadSidecar(segment, fileSize)) segment.size = SEGMENT_HEADER_BYTES
      const torn = scanSegment(
        segment,
        segment.fd,
        fileSize,
        opts.readChunkBytes,
        opts.indexIntervalBytes,
        opts.readOnly && isLast,
      )
      if (torn !== undefined) {
        const later = names.slice(i + 1)
        if (later.some((n) => existsSync(sidecarPath(join(dir, n.name))))) {
          throw new CorruptionError(
            `segment ${segment.path} is damaged at offset ${torn.offset}: ${torn.reason}`,
            {
              details: { file: segment.path, offset: torn.offset, reason: torn.reason },
            },
          )
        }
        recoveredBytes += fileSize - torn.offset
        opts.logger.warn(
          { file: segment.path, offset: torn.offset, reason: torn.reason, droppedSegments: later.length },
          opts.readOnly ? 'event log has a torn tail; reading up to it' : 'truncating torn tail of event log',
        )
        if (!opts.readOnly) {
          // Later segments go first, durably, so a crash in between never leaves a gap.
          for (const n of later) {
            unlinkSync(join(dir, n.name))
            removeSidecar(join(dir, n.name))
          }
          if (later.length > 0) fsyncDirectorySync(dir)
          ftruncateSync(segment.fd, torn.offset)
          changed = true
        }
        fileSize = torn.offset
        break
      }
      if (!isLast) {
        closeSync(segment.fd) // Sealed: reopened for reading on demand.
        segment.fd = -1
        segment.writable = false
        const next = names[i + 1]!
        if (next.firstId !== segment.firstId + segment.count) {
          throw new CorruptionError(
            `segment ${segment.path} ends at id ${segment.lastId} but the next one starts at ${next.firstId}`,
            { details: { file: join(dir, next.name), offset: 0, reason: 'gap between segments' } },
          )
        }
      }
    }
    return { segments, recoveredBytes, changed }
  } catch (e) {
    for (const s of segments) if (s.fd >= 0) closeSync(s.fd)
    throw e
  }
}

/** Creates an empty segment file starting at `firstId` and opens it for reading and writing. */
export function createSegment(dir: string, firstId: number): Segment {
  const segment = new Segment(firstId, join(dir, segmentFileName(firstId)))
  const fd = openSync(segment.path, 'wx+')
  try {
    writeSync(fd, encodeSegmentHeader(firstId), 0, SEGMENT_HEADER_BYTES, 0)
  } catch (e) {
    closeSync(fd)
    throw e
  }
  segment.fd = fd
  segment.writable = true
  segment.dirty = true
  return segment
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT'
}

function listSegments(dir: string): { firstId: number; name: string }[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch (e) {
    throw new AzothError('IO', `cannot list the event log directory ${dir}`, { cause: e, details: { dir } })
  }
  const out: { firstId: number; name: string }[] = []
  for (const name of entries) {
    const firstId = parseSegmentFileName(name)
    if (firstId !== undefined) out.push({ firstId, name })
  }
  return out.sort((a, b) => a.firstId - b.firstId)
}
