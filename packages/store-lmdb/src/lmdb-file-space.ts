import { closeSync, existsSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { AzothError } from '@azothdb/core'

/**
 * LMDB's reader table for lmdb-js's default 126 readers takes 8,272 bytes; whole pages with room
 * to spare (LMDB sizes its table from a larger file, never shrinks it).
 */
const LOCK_FILE_BYTES = 16 * 1024
/** What a new store needs free before LMDB writes anything: its meta pages, first databases and first space reserve. */
export const NEW_STORE_BYTES = 1024 * 1024

function ioError(message: string, path: string, cause: unknown): AzothError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'ENOSPC'
  return new AzothError('IO', message, { cause, details: { errno, path } })
}

/**
 * Makes sure LMDB will not map space the disk cannot give. LMDB sizes its lock file, and a new
 * data file, with `ftruncate`, which allocates nothing, then writes through memory maps: on a full
 * disk the first touch of an unallocated page kills the process with SIGBUS (or a segmentation
 * fault, for a data file left with one meta page), with no error to catch. So before LMDB opens:
 * a new store needs {@link NEW_STORE_BYTES} free (`IO`, `details.errno` `'ENOSPC'`, otherwise),
 * and a missing lock file is created here with its pages written, so a full disk fails here, in
 * JavaScript. An existing lock file is left alone: other processes may be using it.
 */
export function prepareLmdbFiles(dataFile: string, lockFile: string, newStore: boolean): void {
  const dir = dirname(dataFile)
  if (newStore) {
    let free: number
    try {
      const stats = statfsSync(dir)
      free = stats.bavail * stats.bsize
    } catch (e) {
      throw ioError(`cannot read the free space of ${dir}`, dir, e)
    }
    if (free < NEW_STORE_BYTES) {
      throw ioError(
        `the disk holding ${dir} has ${free} bytes free; a new store needs at least ${NEW_STORE_BYTES} (the disk is full)`,
        dir,
        undefined,
      )
    }
  }
  if (existsSync(lockFile)) return
  let fd: number
  try {
    fd = openSync(lockFile, 'wx')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return // another process made it meanwhile
    throw ioError(`cannot create LMDB's lock file ${lockFile}`, lockFile, e)
  }
  try {
    const zeros = new Uint8Array(LOCK_FILE_BYTES)
    for (let at = 0; at < zeros.length; ) at += writeSync(fd, zeros, at, zeros.length - at, at)
  } catch (e) {
    closeSync(fd)
    rmSync(lockFile, { force: true })
    throw ioError(
      `cannot allocate LMDB's lock file ${lockFile}${(e as NodeJS.ErrnoException).code === 'ENOSPC' ? ' (the disk is full)' : ''}`,
      lockFile,
      e,
    )
  }
  closeSync(fd)
}
