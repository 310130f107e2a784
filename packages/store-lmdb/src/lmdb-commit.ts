import { constants } from 'node:os'
import { AzothError, type Logger } from '@azothdb/core'
import { toError } from '@azothdb/core/internal'
import type { Database, RootDatabase } from 'lmdb'

/** errno names by number (LMDB reports a failed write with the C errno as `code`). */
const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]))

/** LMDB's own (negative) return codes that a commit can end with. */
const LMDB_CODES = new Map<number, string>([
  [-30799, 'MDB_KEYEXIST'],
  [-30798, 'MDB_NOTFOUND'],
  [-30796, 'MDB_CORRUPTED'],
  [-30795, 'MDB_PANIC'],
  [-30792, 'MDB_MAP_FULL'],
  [-30788, 'MDB_TXN_FULL'],
  [-30786, 'MDB_PAGE_FULL'],
  [-30785, 'MDB_MAP_RESIZED'],
  [-30782, 'MDB_BAD_TXN'],
])

/**
 * Waits for the lmdb-js asynchronous writes of one transaction to commit, and turns a failed
 * commit into an `IO` error whose `details.errno` names the cause (`'ENOSPC'` for a full disk).
 *
 * lmdb-js reports a failed commit in three places, and leaves two of them for its caller to
 * handle: each write's promise rejects with a generic "Commit failed" error; that error's
 * `commitError` is a second promise rejected (a moment later, in the same callback) with the
 * real LMDB error; and with `eventTurnBatching` the batch it opens for an event turn has a commit
 * promise of its own that nobody holds except `env.committed`. Unobserved, the last two are
 * unhandled rejections that end the process under Node's default `--unhandled-rejections=throw`,
 * even though every caller of ours handled its commit. Everything here is on the failure path:
 * a successful commit costs one promise.
 */
export function awaitCommit(
  env: RootDatabase<Uint8Array, Uint8Array>,
  writes: Set<Promise<boolean>>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending = writes.size
    let failed = false
    const succeeded = (): void => {
      if (--pending === 0 && !failed) resolve()
    }
    const failedWith = (error: unknown): void => {
      const detail = commitErrorOf(error)
      if (failed) return
      failed = true
      // The event turn's own commit promise (see above) is the current one until the next write.
      env.committed.then(undefined, () => undefined)
      void describe(error, detail).then(reject)
    }
    for (const write of writes) write.then(succeeded, failedWith)
  })
}

/** The promise of the real LMDB error behind lmdb-js's generic one, already observed; or undefined. */
function commitErrorOf(error: unknown): Promise<unknown> | undefined {
  const detail = (error as { commitError?: unknown } | null)?.commitError
  if (
    detail === null ||
    typeof detail !== 'object' ||
    typeof (detail as Promise<unknown>).then !== 'function'
  ) {
    return undefined
  }
  return Promise.resolve(detail as Promise<unknown>).then(
    () => undefined,
    (cause: unknown) => cause,
  )
}

async function describe(error: unknown, detail: Promise<unknown> | undefined): Promise<AzothError> {
  // lmdb-js rejects the detail in the same callback as the write promises: by the next macrotask
  // it has settled if it ever will (it may not: then the generic error is all there is).
  const cause =
    detail === undefined
      ? undefined
      : await Promise.race([detail, new Promise<undefined>((r) => setImmediate(() => r(undefined)))])
  const code = (cause as { code?: unknown } | undefined)?.code
  const errno = typeof code === 'number' ? (ERRNO_NAMES.get(code) ?? LMDB_CODES.get(code)) : undefined
  const reason = errno === 'ENOSPC' ? ' (the disk is full)' : errno === undefined ? '' : ` (${errno})`
  return new AzothError('IO', `the LMDB commit failed${reason}`, {
    cause: cause ?? error,
    details: { errno: errno ?? 'unknown', ...(typeof code === 'number' ? { lmdbCode: code } : {}) },
  })
}

/** A meta key no version of the store writes: removing it changes nothing. */
const NEVER_WRITTEN = Buffer.from('close-probe')

/**
 * Lets `env.close()` finish after a failed commit. lmdb-js's close waits for the flush promise of
 * the last batch, and a batch whose commit failed never resolves it: closed on a full disk, the
 * store would hang forever. An empty write transaction (the removal of a key that never exists)
 * commits without writing a page, so it succeeds on a full disk too, and becomes the last batch.
 */
export async function settleFailedCommit(
  meta: Database<Uint8Array, Uint8Array>,
  logger: Logger,
): Promise<void> {
  try {
    await meta.remove(NEVER_WRITTEN)
  } catch (e) {
    logger.error(
      { err: toError(e) },
      'the empty transaction after a failed commit failed; closing LMDB may wait',
    )
  }
}
