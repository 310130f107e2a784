import { createRequire } from 'node:module'

/** The part of `fs-native-extensions` we use: a non-blocking exclusive lock on a whole open file. */
export interface KernelFileLocks {
  /**
   * Takes an exclusive lock on the file open at `fd`; false when another open file description
   * holds it. The kernel drops it when the last descriptor of that open file closes, so it dies
   * with its process however the process ends. Linux uses open-file-description locks
   * (`F_OFD_SETLK`): two opens conflict even within one process, and closing an unrelated
   * descriptor of the same file does not drop it (classic `fcntl` locks get both wrong).
   */
  tryLock(fd: number): boolean
}

let loaded: KernelFileLocks | undefined
let loadError: unknown

/**
 * The kernel lock binding, or undefined where its prebuilt addon does not load (a platform it
 * ships no binary for, such as musl-based Linux). The outcome is decided once per process and the
 * failure reported once as a process warning, so the fallback never goes unnoticed.
 */
export function kernelFileLocks(): KernelFileLocks | undefined {
  if (loaded !== undefined || loadError !== undefined) return loaded
  try {
    loaded = createRequire(import.meta.url)('fs-native-extensions') as KernelFileLocks
  } catch (e) {
    loadError = e ?? new Error('unknown load failure')
    process.emitWarning(
      `Azoth: kernel file locks are unavailable (${String(e)}); writer locks fall back to pid files, which pid reuse can fool`,
      { code: 'AZOTH_NO_KERNEL_LOCKS' },
    )
  }
  return loaded
}
