// Small helpers over the file layer: full reads and writes, directory fsyncs.

import { AzothError } from '@azothdb/core'
import type { FileSystem } from '@azothdb/core/internal'

/**
 * Reads `b[start, start + length)` from `file` (open as `fd`) at `position`, continuing after short
 * reads; returns how many bytes it read, fewer only where the file ends. A failed read is `IO` with
 * the errno: taken for damage it would be reported as `CORRUPTION`, taken for the end of the file it
 * would silently lose records.
 */
export function readFully(
  fs: FileSystem,
  fd: number,
  file: string,
  b: Uint8Array,
  start: number,
  length: number,
  position: number,
): number {
  let done = 0
  try {
    while (done < length) {
      const n = fs.readSync(fd, b, start + done, length - done, position + done)
      if (n === 0) break
      done += n
    }
  } catch (e) {
    throw readFailed(e, file, position + done)
  }
  return done
}

/** The size and inode of `file`, open as `fd`; a failure is `IO` with the errno. */
export function statOpenFile(fs: FileSystem, fd: number, file: string): { size: number; ino: number } {
  try {
    const { size, ino } = fs.fstatSync(fd)
    return { size, ino }
  } catch (e) {
    throw readFailed(e, file, undefined)
  }
}

/** `IO` for a read of `file` (at `offset`) that failed with `e`, naming the errno. */
export function readFailed(e: unknown, file: string, offset: number | undefined): AzothError {
  const errno = (e as NodeJS.ErrnoException | undefined)?.code
  const at = offset === undefined ? '' : ` at offset ${offset}`
  return new AzothError('IO', `cannot read ${file}${at}${errno ? `: ${errno}` : ''}`, {
    cause: e,
    details: { file, ...(offset === undefined ? {} : { offset }), ...(errno ? { errno } : {}) },
  })
}

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
