// Small helpers over the file layer: full writes and directory fsyncs.

import type { FileSystem } from '@azothdb/core/internal'

/** Writes all of `b[start, start + length)` at `position`, looping over short writes. */
export function writeFully(
  fs: FileSystem,
  fd: number,
  b: Uint8Array,
  start: number,
  length: number,
  position: number,
): void {
  let done = 0
  while (done < length) done += fs.writeSync(fd, b, start + done, length - done, position + done)
}

/** fsync of a directory (its entries: files created, renamed or removed), off the event loop. */
export async function fsyncDirectory(fs: FileSystem, dir: string): Promise<void> {
  const fd = fs.openSync(dir, 'r')
  try {
    await fs.fsync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Removes `path` unless it is already gone; other failures are thrown. */
export function removeIfPresent(fs: FileSystem, path: string): void {
  try {
    fs.unlinkSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}
