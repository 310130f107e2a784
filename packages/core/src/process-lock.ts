import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { AzothError, LockedError } from './errors.js'

/** A lock file that keeps a directory to one writer process. */
export interface ProcessLock {
  readonly path: string
  /** Removes the lock file; safe to call twice. */
  release(): void
}

interface LockOwner {
  readonly pid: number
  readonly host: string
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string')
      return { pid: parsed.pid, host: parsed.host }
  } catch {
    // Unreadable or half-written: the writer died between create and write. Treated as stale.
  }
  return undefined
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes `path` as this process's writer lock: an exclusively created file holding the owner's pid
 * and host. A lock left by a dead process on this host (after a crash) is taken over; one held by
 * a live process raises `LOCKED`. Lock files of other hosts are never broken (shared volumes).
 */
export function acquireProcessLock(path: string, what: string): ProcessLock {
  const me: LockOwner = { pid: process.pid, host: hostname() }
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number
    try {
      fd = openSync(path, 'wx')
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code !== 'EEXIST') {
        throw new AzothError('IO', `cannot create the lock file ${path}: ${String(code)}`, {
          cause: e,
          details: { path },
        })
      }
      const owner = readOwner(path)
      if (owner && owner.pid === me.pid && owner.host === me.host) {
        throw new LockedError(`${what} is already open for writing in this process`, {
          details: { path, pid: owner.pid },
        })
      }
      if (owner && (owner.host !== me.host || isAlive(owner.pid))) {
        throw new LockedError(`${what} is held by process ${owner.pid} on ${owner.host}`, {
          details: { path, pid: owner.pid, host: owner.host },
        })
      }
      try {
        unlinkSync(path)
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkError
      }
      continue
    }
    try {
      writeSync(fd, JSON.stringify(me))
    } finally {
      closeSync(fd)
    }
    let released = false
    return {
      path,
      release() {
        if (released) return
        released = true
        const owner = readOwner(path)
        if (owner && owner.pid === me.pid && owner.host === me.host) {
          try {
            unlinkSync(path)
          } catch {
            // Already gone: nothing to release.
          }
        }
      },
    }
  }
  throw new LockedError(`${what}: another process keeps taking the lock`, { details: { path } })
}
