import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'

/** Mounting a tmpfs needs root; the cases that need one are skipped otherwise. */
export const isRoot = process.getuid?.() === 0

/** Mounts a size-limited tmpfs on `dir`; returns the function that unmounts it (call it in `finally`). */
export function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  return () => execFileSync('umount', ['-l', dir])
}

/** Remounts the tmpfs on `dir` read-only (EROFS for root too, unlike file modes). */
export function remountReadOnly(dir: string): void {
  execFileSync('mount', ['-o', 'remount,ro', dir])
}
