import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { AzothError, CorruptionError } from '@azothdb/core'
import type { FileSystem } from '@azothdb/core/internal'
import { type CompactionMark, compactionMarkTempPath, readCompactionMark } from './compaction-mark.js'
import { readFully, statOpenFile } from './fs-util.js'
import { loadSidecar, sidecarPath } from './index-sidecar.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import { Segment } from './segment.js'
import {
  decodeSegmentHeader,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from './segment-format.js'
import { scanSegment } from './segment-scanner.js'

/** What a writer's open must change before the scanned log is what {@link LogScan.segments} says. */
export interface LogRepairs {
  /** Segment files after a torn tail (they only held unsynced data): removed before the cut. */
  readonly removeAfterTear: readonly string[]
  /** Where the last segment is cut back to (its torn tail), if anywhere. */
  readonly cutLastAt: number | undefined
  /** The last segment's header was never written (killed while rotating). */
  readonly writeLastHeader: boolean
  /** Segment files below the compaction mark (a compaction killed before it deleted them). */
  readonly removeBelowMark: readonly string[]
  /** The log has no segment yet: the writer creates the first one (and it starts at this id). */
  readonly createFirst: boolean
  /** A compaction mark left half-written by a crash. */
  readonly removeMarkTemp: boolean
}

/** A log as found on disk, before anything was changed. */
export interface LogScan {
  /** In id order; the last one is open read-only (or, with nothing on disk yet, has no file). */
  readonly segments: Segment[]
  /** Bytes of torn tail the repairs cut off (read-only: ignored). */
  readonly recoveredBytes: number
  readonly repairs: LogRepairs
}

/**
 * Phase one of an open: reads every segment of `dir` (read-only), checks headers, loads index
 * sidecars, scans what they do not cover and checks the segments against the compaction mark.
 * Raises `CORRUPTION` for anything that repairing a torn tail cannot explain, having changed no
 * file; otherwise returns what a writer must repair.
 *
 * A torn tail (damage with nothing valid after it) is where the log ends. In a segment that is not
 * the last it can only come from a power loss before a rotated segment was synced; the later
 * segments then hold nothing that was ever synced and are dropped. If a later segment has a sidecar
 * (written only after a sync that covered everything before it), the damage is corruption instead.
 *
 * Every id below the compaction mark was dropped by the log; from the mark on, the segments must
 * follow each other without a gap, so a missing segment is `CORRUPTION` naming the missing ids.
 */
export function scanLog(dir: string, opts: ResolvedFileEventLogOptions): LogScan {
  for (let attempt = 1; ; attempt++) {
    const mark = readCompactionMark(opts.fs, dir)
    try {
      return scanOnce(dir, opts, mark)
    } catch (e) {
      // A reader racing the writer's compaction saw segments vanish after it read the mark: the
      // new mark explains them. A writer holds the lock, so nothing moves under its scan.
      if (
        !opts.readOnly ||
        attempt === MAX_SCANS ||
        readCompactionMark(opts.fs, dir)?.firstId === mark?.firstId
      )
        throw e
    }
  }
}

/** Scans a reader retries when a compaction ran meanwhile (each one needs a compaction to fail). */
const MAX_SCANS = 5

function scanOnce(dir: string, opts: ResolvedFileEventLogOptions, mark: CompactionMark | undefined): LogScan {
  const firstKept = mark?.firstId ?? 1
  const all = listSegments(dir)
  const below = all.filter((n) => n.firstId < firstKept)
  const names = all.filter((n) => n.firstId >= firstKept)
  const segments: Segment[] = []
  let recoveredBytes = 0
  let cutLastAt: number | undefined
  let writeLastHeader = false
  let removeAfterTear: string[] = []
  const repairs = (): LogRepairs => ({
    removeAfterTear,
    cutLastAt,
    writeLastHeader,
    removeBelowMark: below.map((n) => join(dir, n.name)),
    createFirst: names.length === 0,
    removeMarkTemp: existsSync(compactionMarkTempPath(dir)),
  })
  if (names.length === 0) {
    if (mark !== undefined && !mark.restart) throw missingSegments(dir, firstKept, undefined)
    segments.push(new Segment(firstKept, join(dir, segmentFileName(firstKept))))
    return { segments, recoveredBytes, repairs: repairs() }
  }
  if (names[0]!.firstId !== firstKept) throw missingSegments(dir, firstKept, names[0])
  try {
    for (let i = 0; i < names.length; i++) {
      const { firstId, name } = names[i]!
      const segment = new Segment(firstId, join(dir, name))
      segment.fd = openSegment(opts.fs, segment.path, opts.readOnly && i < names.length - 1)
      if (segment.fd < 0) {
        // A reader racing the writer's compaction: segments below the new mark vanish meanwhile.
        throw new AzothError('NOT_FOUND', `segment ${segment.path} was deleted while the log was opened`, {
          details: { file: segment.path },
        })
      }
      segments.push(segment)
      const isLast = i === names.length - 1
      const fileSize = statOpenFile(opts.fs, segment.fd, segment.path).size
      if (fileSize < SEGMENT_HEADER_BYTES && isLast) {
        // Killed between creating the file and writing its header: an empty segment.
        writeLastHeader = true
        recoveredBytes += fileSize
        continue
      }
      const header = Buffer.alloc(SEGMENT_HEADER_BYTES)
      readFully(opts.fs, segment.fd, segment.path, header, 0, SEGMENT_HEADER_BYTES, 0)
      const declared = decodeSegmentHeader(header, segment.path)
      if (declared !== firstId) {
        throw new CorruptionError(`segment ${segment.path} declares first id ${declared}`, {
          details: { file: segment.path, offset: 0, reason: 'header id does not match the file name' },
        })
      }
      if (!loadSidecar(opts.fs, segment, fileSize)) segment.size = SEGMENT_HEADER_BYTES
      const torn = scanSegment(
        opts.fs,
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
            { details: { file: segment.path, offset: torn.offset, reason: torn.reason } },
          )
        }
        recoveredBytes += fileSize - torn.offset
        cutLastAt = torn.offset
        removeAfterTear = later.map((n) => join(dir, n.name))
        opts.logger.warn(
          { file: segment.path, offset: torn.offset, reason: torn.reason, droppedSegments: later.length },
          opts.readOnly
            ? 'event log has a torn tail; reading up to it'
            : 'event log has a torn tail; cutting it',
        )
        break
      }
      if (!isLast) {
        opts.fs.closeSync(segment.fd) // Sealed: reopened for reading on demand.
        segment.fd = -1
        const next = names[i + 1]!
        if (next.firstId !== segment.firstId + segment.count) {
          throw new CorruptionError(
            `segment ${segment.path} ends at id ${segment.lastId} but the next one starts at ${next.firstId}: ` +
              `events ${segment.lastId + 1}..${next.firstId - 1} are missing (was ${segmentFileName(segment.lastId + 1)} deleted?)`,
            { details: { file: join(dir, next.name), offset: 0, reason: 'gap between segments' } },
          )
        }
      }
    }
    const head = segments[segments.length - 1]!.lastId
    if (opts.committedHead > head) {
      const last = segments[segments.length - 1]!
      throw new CorruptionError(
        `the event log ends at id ${head} but ids up to ${opts.committedHead} were committed`,
        { details: { file: last.path, offset: last.size, head, committedHead: opts.committedHead } },
      )
    }
    return { segments, recoveredBytes, repairs: repairs() }
  } catch (e) {
    for (const s of segments) if (s.fd >= 0) opts.fs.closeSync(s.fd)
    throw e
  }
}

/** Opens a segment file read-only; -1 when it is gone and `mayVanish`. */
function openSegment(fs: FileSystem, path: string, mayVanish: boolean): number {
  try {
    return fs.openSync(path, 'r')
  } catch (e) {
    if (mayVanish && (e as NodeJS.ErrnoException).code === 'ENOENT') return -1
    throw e
  }
}

function missingSegments(
  dir: string,
  firstKept: number,
  next: { firstId: number; name: string } | undefined,
): CorruptionError {
  const to = next === undefined ? undefined : next.firstId - 1
  const range = to === undefined ? `from ${firstKept} on` : `${firstKept} to ${to}`
  return new CorruptionError(
    `the event log in ${dir} is missing the segments of ids ${range}: the log compacted only below ${firstKept}`,
    {
      details: {
        file: next === undefined ? dir : join(dir, next.name),
        offset: 0,
        reason: 'missing segments',
        missingFrom: firstKept,
        ...(to === undefined ? {} : { missingTo: to }),
      },
    },
  )
}

/** The segment files of `dir` in id order. */
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
