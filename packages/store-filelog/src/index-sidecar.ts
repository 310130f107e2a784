// The index sidecar `<segment>.idx`: the sparse index of a prefix of a segment, written only after
// that prefix was made durable (fdatasync), so on open the prefix needs no scan. Layout, big-endian:
//
//   magic "AZOTHIDX" | u32 version | u32 entries | u64 first id | u64 records | u64 covered bytes |
//   u64 bytes since last entry | entries (u64 id, u64 offset)... | u32 crc32c of all before
//
// A missing, stale or damaged sidecar only costs a scan: it is never trusted beyond its checksum
// and its consistency with the segment file. One that cannot be read (EIO) is `IO`: a disk failing
// under the log is reported, not papered over.

import { crc32c, type FileSystem, readEventId, writeEventId } from '@azothdb/core/internal'
import { readFailed, readFully, removeIfPresent } from './fs-util.js'
import type { Segment } from './segment.js'
import { readU32, SEGMENT_HEADER_BYTES, writeU32 } from './segment-format.js'

const MAGIC = Buffer.from('AZOTHIDX', 'latin1')
const VERSION = 1
const FIXED_BYTES = 48

/** The sidecar path of a segment file. */
export function sidecarPath(segmentPath: string): string {
  return segmentPath.replace(/\.seg$/, '.idx')
}

/** Writes the sidecar describing `segment` as it is now (atomically: temp file, then rename). */
export async function writeSidecar(fs: FileSystem, segment: Segment): Promise<void> {
  const n = segment.index.length
  const out = Buffer.alloc(FIXED_BYTES + n * 16 + 4)
  MAGIC.copy(out, 0)
  writeU32(out, 8, VERSION)
  writeU32(out, 12, n)
  writeEventId(out, 16, segment.firstId)
  writeEventId(out, 24, segment.count)
  writeEventId(out, 32, segment.size)
  writeEventId(out, 40, Number.isFinite(segment.bytesSinceIndex) ? segment.bytesSinceIndex : 0)
  for (let i = 0; i < n; i++) {
    writeEventId(out, FIXED_BYTES + i * 16, segment.index.idAt(i))
    writeEventId(out, FIXED_BYTES + i * 16 + 8, segment.index.offsetAt(i))
  }
  writeU32(out, out.length - 4, crc32c(out, 0, out.length - 4))
  const path = sidecarPath(segment.path)
  const tmp = `${path}.tmp`
  try {
    await fs.writeFile(tmp, out)
    await fs.rename(tmp, path)
  } catch (e) {
    removeIfPresent(fs, tmp) // A partial file would hold space a full disk needs.
    throw e
  }
  segment.sidecarSize = segment.size
}

/**
 * Loads the sidecar of `segment` (a fresh one, nothing loaded yet) when it is intact and fits a
 * file of `fileSize` bytes; returns false (and leaves `segment` untouched) otherwise. A sidecar
 * that is there but cannot be read raises `IO`.
 */
export function loadSidecar(fs: FileSystem, segment: Segment, fileSize: number): boolean {
  const path = sidecarPath(segment.path)
  let b: Buffer
  try {
    b = fs.readFileSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false // The caller scans instead.
    throw readFailed(e, path, undefined)
  }
  if (b.length < FIXED_BYTES + 4 || !b.subarray(0, 8).equals(MAGIC)) return false
  if (readU32(b, b.length - 4) !== crc32c(b, 0, b.length - 4)) return false
  if (readU32(b, 8) !== VERSION) return false
  const n = readU32(b, 12)
  if (b.length !== FIXED_BYTES + n * 16 + 4) return false
  const count = readEventId(b, 24)
  const size = readEventId(b, 32)
  if (readEventId(b, 16) !== segment.firstId || count < 0 || size < SEGMENT_HEADER_BYTES || size > fileSize) {
    return false
  }
  if ((count === 0) !== (n === 0)) return false
  if (
    n > 0 &&
    !recordStartsWith(
      fs,
      segment,
      readEventId(b, FIXED_BYTES + (n - 1) * 16),
      readEventId(b, FIXED_BYTES + (n - 1) * 16 + 8),
    )
  ) {
    return false // Describes other records than the file holds: stale.
  }
  for (let i = 0; i < n; i++) {
    segment.index.push(readEventId(b, FIXED_BYTES + i * 16), readEventId(b, FIXED_BYTES + i * 16 + 8))
  }
  segment.count = count
  segment.size = size
  segment.bytesSinceIndex = n === 0 ? Number.POSITIVE_INFINITY : readEventId(b, 40)
  segment.sidecarSize = size
  return true
}

/** True when the record at `offset` of the segment's file carries `id`. */
function recordStartsWith(fs: FileSystem, segment: Segment, id: number, offset: number): boolean {
  const h = Buffer.alloc(8)
  return readFully(fs, segment.fd, segment.path, h, 0, 8, offset) === 8 && readEventId(h, 0) === id
}

/** Removes the sidecar of `segmentPath` if there is one (before its segment shrinks or goes). */
export function removeSidecar(fs: FileSystem, segmentPath: string): void {
  removeIfPresent(fs, sidecarPath(segmentPath))
}
