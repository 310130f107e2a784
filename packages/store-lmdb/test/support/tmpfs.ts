import { execFileSync } from 'node:child_process'
import { tempDir } from './temp-dir.js'

/** Mounts a tmpfs of `size` (e.g. '2m') on a fresh temporary directory; unmount it with the returned function. */
export function mountTmpfs(size: string): { dir: string; unmount: () => void } {
  const dir = tempDir('azoth-tmpfs-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
  return { dir, unmount: () => execFileSync('umount', [dir], { stdio: 'pipe' }) }
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
