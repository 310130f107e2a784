import { execFileSync } from 'node:child_process'
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './temp-dir.js'

/** Mounts a tmpfs of `size` (e.g. '2m') on a fresh temporary directory; unmount it with the returned function. */
export function mountTmpfs(size: string): { dir: string; unmount: () => void } {
  const dir = tempDir('azoth-tmpfs-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
  return { dir, unmount: () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' }) }
}

/** Why a size-limited tmpfs cannot be mounted here (not root, no mount permission), or undefined when it can. */
export function cannotMountTmpfs(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a size-limited tmpfs needs root'
  try {
    mountTmpfs('64k').unmount()
    return undefined
  } catch (e) {
    return `mount -t tmpfs failed: ${String(e)}`
  }
}

/** Fills the file system of `dir` with a ballast file leaving `roomBytes` free; returns the ballast's path. */
export function fillDisk(dir: string, roomBytes: number): string {
  const ballast = join(dir, 'ballast')
  const fd = openSync(ballast, 'w')
  const chunk = Buffer.alloc(64 * 1024, 0x42)
  let size = 0
  try {
    for (;;) size += writeSync(fd, chunk, 0, chunk.length, size)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
  } finally {
    ftruncateSync(fd, Math.max(0, size - roomBytes))
    closeSync(fd)
  }
  return ballast
}
