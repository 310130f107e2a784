// Small node:fs helpers: full writes and fsync / fdatasync that never block the event loop.

import { closeSync, fdatasync, fsyncSync, openSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'

/** Writes all of `b[start, start + length)` at `position`, looping over short writes. */
export function writeFully(fd: number, b: Uint8Array, start: number, length: number, position: number): void {
  let done = 0
  while (done < length) done += writeSync(fd, b, start + done, length - done, position + done)
}

/** fdatasync on the libuv thread pool. */
export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())))
}

/**
 * fsync of a directory, synchronously: for the rare places where a removal must be durable before
 * the next step (cutting records), and the step cannot wait.
 */
export function fsyncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** fsync of a directory (its entries: files created, renamed or removed). */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
