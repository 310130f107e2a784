import { createHash, randomUUID } from 'node:crypto'
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { hostname } from 'node:os'
import { AzothError, LockedError } from './errors.js'
import type { ProcessLock } from './process-lock-handle.js'

interface LockOwner {
  readonly pid: number
  readonly host: string
}

/** A break marker older than this belongs to a process that died while breaking a stale lock. */
const ABANDONED_BREAK_MS = 10_000

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code
}

/** The lock file's exact content, or undefined when there is none. */
function readContent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined
    throw new AzothError('IO', `cannot read the lock file ${path}: ${String(errnoCode(e))}`, {
      cause: e,
      details: { path },
    })
  }
}

function parseOwner(content: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(content) as Partial<LockOwner>
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string')
      return { pid: parsed.pid, host: parsed.host }
  } catch {
    // Unreadable or half-written (by an older version that wrote in place): treated as stale.
  }
  return undefined
}

/** True while process `pid` lives on this host (a zombie nobody reaped counts as dead on Linux). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return errnoCode(e) === 'EPERM'
  }
  return !isZombie(pid)
}

/**
 * A killed process nobody reaped still answers signal 0. On Linux its state in /proc says it is
 * dead ('Z'), and its lock can be taken over; elsewhere it counts as alive.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z'
  } catch {
    // No /proc (not Linux) or the process just went away: judged by signal 0 alone.
    return false
  }
}

/**
 * Creates `path` holding `content`, or returns false when it exists. The content is written to a
 * private file first and hard-linked into place, so nobody ever sees a half-written lock.
 */
function tryCreate(path: string, content: string, unique: string): boolean {
  const staging = `${path}.${unique}.tmp`
  try {
    writeFileSync(staging, content, { flag: 'wx' })
  } catch (e) {
    throw new AzothError('IO', `cannot create the lock file ${path}: ${String(errnoCode(e))}`, {
      cause: e,
      details: { path },
    })
  }
  try {
    linkSync(staging, path)
    return true
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false
    // A file system without hard links: fall back to create-then-write.
    return createInPlace(path, content, e)
  } finally {
    try {
      unlinkSync(staging)
    } catch {
      // Already gone: nothing to clean.
    }
  }
}

function createInPlace(path: string, content: string, linkError: unknown): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx')
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false
    throw new AzothError('IO', `cannot create the lock file ${path}: ${String(errnoCode(e))}`, {
      cause: e,
      details: { path, linkError: String(errnoCode(linkError)) },
    })
  }
  try {
    writeSync(fd, content)
  } finally {
    closeSync(fd)
  }
  return true
}

/**
 * Removes a stale lock file whose content is `stale`. Several processes may judge the same file
 * stale at once; only the one that creates the break marker of that exact content may remove it,
 * and it checks the content again first, so a fresh lock taken meanwhile is never removed.
 */
function breakStale(path: string, stale: string): void {
  const digest = createHash('sha256').update(stale).digest('hex').slice(0, 16)
  const marker = `${path}.break-${digest}`
  try {
    mkdirSync(marker)
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw new AzothError('IO', `cannot create ${marker}`, { cause: e })
    try {
      if (Date.now() - statSync(marker).mtimeMs > ABANDONED_BREAK_MS) rmdirSync(marker)
    } catch {
      // Removed by its owner meanwhile.
    }
    return
  }
  try {
    if (readContent(path) === stale) unlinkSync(path)
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e
  } finally {
    rmdirSync(marker)
  }
}

/**
 * The fallback for platforms where kernel file locks cannot be loaded: `path` is an exclusively
 * created file holding the owner's pid and host. A lock left by a dead process on this host is
 * taken over, by exactly one process even when several try at once; one held by a live process
 * raises `LOCKED`; lock files of other hosts are never broken (shared volumes). Judged by pid, it
 * can be fooled by pid reuse (a restarted container is pid 1 again), which the kernel lock cannot.
 */
export function acquirePidFileLock(path: string, what: string): ProcessLock {
  const me: LockOwner = { pid: process.pid, host: hostname() }
  const unique = randomUUID()
  // The nonce makes every lock's content unique, even when a crashed owner's pid is reused.
  const content = JSON.stringify({ ...me, nonce: unique })
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, content, unique)) {
      let released = false
      return {
        path,
        release() {
          if (released) return
          released = true
          try {
            if (readContent(path) === content) unlinkSync(path)
          } catch {
            // Already gone, or unreadable: nothing of ours to release.
          }
        },
      }
    }
    const existing = readContent(path)
    if (existing === undefined) continue // released meanwhile: try again
    const owner = parseOwner(existing)
    if (owner && owner.pid === me.pid && owner.host === me.host) {
      throw new LockedError(`${what} is already open for writing in this process`, {
        details: { path, pid: owner.pid },
      })
    }
    if (owner && (owner.host !== me.host || isProcessAlive(owner.pid))) {
      throw new LockedError(`${what} is held by process ${owner.pid} on ${owner.host}`, {
        details: { path, pid: owner.pid, host: owner.host },
      })
    }
    breakStale(path, existing)
  }
  throw new LockedError(`${what}: another process keeps taking the lock`, { details: { path } })
}
