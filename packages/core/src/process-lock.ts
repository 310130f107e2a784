import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { AzothError, LockedError } from './errors.js'
import { type KernelFileLocks, kernelFileLocks } from './kernel-file-locks.js'
import { acquirePidFileLock } from './pid-file-lock.js'
import type { ProcessLock } from './process-lock-handle.js'

export type { ProcessLock } from './process-lock-handle.js'

/** Lock files this process holds, to tell "already open here" from "held by another process". */
const heldHere = new Set<string>()

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code
}

function ioError(action: string, path: string, e: unknown): AzothError {
  const errno = errnoCode(e)
  return new AzothError('IO', `cannot ${action} the lock file ${path}: ${String(errno)}`, {
    cause: e,
    details: { path, errno },
  })
}

/** The holder named in the lock file, for the `LOCKED` message only: the kernel lock decides. */
function describeHolder(path: string): { pid?: number; host?: string } {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown }
    return {
      ...(typeof parsed.pid === 'number' ? { pid: parsed.pid } : {}),
      ...(typeof parsed.host === 'string' ? { host: parsed.host } : {}),
    }
  } catch {
    // Gone, or being rewritten by its new holder: the refusal stands without a name.
    return {}
  }
}

/** Whether `fd` is still the file at `path` (a releasing holder unlinks it before unlocking). */
function isFileAtPath(fd: number, path: string): boolean {
  const open = fstatSync(fd)
  try {
    const named = statSync(path)
    return named.ino === open.ino && named.dev === open.dev
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return false
    throw e
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch (e) {
    // Only a descriptor closed behind our back fails here; the kernel lock is gone either way.
    process.emitWarning(`Azoth: closing a lock file failed: ${String(e)}`, { code: 'AZOTH_LOCK_CLOSE' })
  }
}

/**
 * Writes who holds the lock, for people and for older versions of this library, which honour a
 * live pid. The kernel lock is what excludes other writers, so a full disk (the usual reason this
 * write fails) must not stop a database from opening: the lock stands with an empty file, and a
 * second process is then told "another process" holds it.
 */
function writeOwner(fd: number, path: string): void {
  const owner = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() })
  try {
    ftruncateSync(fd, 0)
    writeSync(fd, owner, 0)
  } catch (e) {
    process.emitWarning(
      `Azoth: the lock file ${path} is held but its owner could not be written: ${String(e)}`,
      {
        code: 'AZOTH_LOCK_OWNER',
      },
    )
  }
}

/**
 * Opens and locks `path`, or returns undefined when the file was replaced between the open and the
 * lock (its previous holder released it meanwhile: the caller tries again on the new file).
 */
function tryLockFile(path: string, what: string, kernel: KernelFileLocks): ProcessLock | undefined {
  let fd: number
  try {
    // libuv opens with O_CLOEXEC, so child processes never inherit the descriptor nor the lock.
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644)
  } catch (e) {
    throw ioError('open', path, e)
  }
  try {
    if (!kernel.tryLock(fd)) {
      closeQuietly(fd)
      const key = resolve(path)
      if (heldHere.has(key)) {
        throw new LockedError(`${what} is already open for writing in this process`, {
          details: { path, pid: process.pid },
        })
      }
      const holder = describeHolder(path)
      const by = holder.pid === undefined ? 'another process' : `process ${holder.pid} on ${holder.host}`
      throw new LockedError(`${what} is held by ${by}`, { details: { path, ...holder } })
    }
    if (!isFileAtPath(fd, path)) {
      closeQuietly(fd)
      return undefined
    }
    writeOwner(fd, path)
  } catch (e) {
    if (e instanceof AzothError) throw e
    closeQuietly(fd)
    throw ioError('lock', path, e)
  }
  const key = resolve(path)
  heldHere.add(key)
  let released = false
  return {
    path,
    release() {
      if (released) return
      released = true
      heldHere.delete(key)
      // Unlinked while still locked: whoever opened this file meanwhile and gets the lock after
      // us sees it is no longer at `path` and retries on a fresh file, so two holders never
      // hold two different files under one name.
      try {
        unlinkSync(path)
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') {
          process.emitWarning(`Azoth: cannot remove the lock file ${path}: ${String(e)}`, {
            code: 'AZOTH_LOCK_UNLINK',
          })
        }
      }
      closeQuietly(fd)
    },
  }
}

/**
 * Takes `path` as this process's writer lock: a kernel-held exclusive lock on the file, which
 * also names the holder's pid and host. The kernel drops the lock when its process ends, however
 * it ends (SIGKILL, a crashed container), so a dead writer's lock is free at once and no reuse of
 * its pid can keep it; while the holder lives every other process, and a second acquisition in
 * the same process, gets `LOCKED`. The file's content is never trusted: a file left by a crash is
 * simply locked again. Where kernel locks cannot be loaded, falls back to pid files (see
 * {@link acquirePidFileLock}).
 */
export function acquireProcessLock(path: string, what: string): ProcessLock {
  const kernel = kernelFileLocks()
  if (kernel === undefined) return acquirePidFileLock(path, what)
  for (let attempt = 0; attempt < 5; attempt++) {
    const lock = tryLockFile(path, what, kernel)
    if (lock !== undefined) return lock
  }
  throw new LockedError(`${what}: another process keeps taking and releasing the lock`, {
    details: { path },
  })
}
