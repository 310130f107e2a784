import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { AzothError, CorruptionError, type EventLog, isAzothError } from '@azothdb/core'
import { acquireProcessLock, type ProcessLock, toError } from '@azothdb/core/internal'
import { readAheadTarget } from './chunk-read-ahead.js'
import { checkDataFile } from './data-file-check.js'
import { prepareLmdbFiles } from './lmdb-file-space.js'
import { LmdbStore } from './lmdb-store.js'
import { readHead } from './meta.js'
import { openDatabases } from './open-databases.js'
import { type LmdbStoreOptions, type ResolvedLmdbStoreOptions, resolveOptions } from './options.js'
import { SpaceReserve } from './space-reserve.js'
import { DATA_FILE } from './store-backup.js'
import type { StoreDatabases } from './store-databases.js'

/** Name of the writer lock file inside a store directory. */
export const WRITER_LOCK_FILE = 'writer.lock'

/** The file LMDB keeps its reader table in, next to `data.mdb` (lmdb-js opens `data.mdb` without a subdirectory). */
const LMDB_LOCK_FILE = `${DATA_FILE}-lock`

/**
 * Everything an open can check before it touches the disk: the directory, and the data file
 * against its own meta pages. Returns whether the directory must be created.
 */
function checkBeforeOpen(dir: string, opts: ResolvedLmdbStoreOptions): { createDir: boolean } {
  if (!existsSync(dir)) {
    if (opts.mustExist) {
      throw new CorruptionError(`the store directory ${dir} is missing`, { details: { path: dir } })
    }
    if (opts.readOnly || !opts.create) {
      throw new AzothError('NOT_FOUND', `store directory ${dir} does not exist`, { details: { path: dir } })
    }
    return { createDir: true }
  }
  if (!statSync(dir).isDirectory()) {
    throw new AzothError('INVALID_ARGUMENT', `${dir} is not a directory`, { details: { path: dir } })
  }
  const dataFile = join(dir, DATA_FILE)
  const size = existsSync(dataFile) ? statSync(dataFile).size : undefined
  if (opts.mustExist && (size === undefined || size === 0)) {
    throw new CorruptionError(
      `the store in ${dir} is missing: ${dataFile} is ${size === undefined ? 'missing' : 'empty'}`,
      {
        details: { path: dir, where: dataFile },
      },
    )
  }
  if (opts.readOnly && size === undefined) {
    throw new AzothError('NOT_FOUND', `no store in ${dir}`, { details: { path: dir } })
  }
  // A writer may start a new store in an empty file (LMDB's own first open can leave one); a
  // reader cannot, and the file is there: it is damaged.
  if (opts.readOnly && size === 0) {
    throw new CorruptionError(`${dataFile} is empty: expected at least LMDB's two meta pages`, {
      details: { path: dir, where: dataFile, actualBytes: 0 },
    })
  }
  if (size !== undefined && size > 0) {
    const meta = checkDataFile(dataFile)
    if (opts.mustExist && meta.txnId === 0) {
      throw new CorruptionError(
        `the store in ${dir} was never written: ${dataFile} holds no committed transaction`,
        {
          details: { path: dir, where: dataFile },
        },
      )
    }
  }
  if (!opts.readOnly) {
    try {
      accessSync(dir, constants.W_OK)
    } catch (e) {
      throw new AzothError('IO', `store directory ${dir} is not writable`, {
        cause: e,
        details: { path: dir },
      })
    }
  }
  return { createDir: false }
}

function createDirectory(dir: string): string | undefined {
  try {
    return mkdirSync(dir, { recursive: true })
  } catch (e) {
    throw new AzothError('IO', `cannot create the store directory ${dir}`, {
      cause: e,
      details: { path: dir },
    })
  }
}

/**
 * Opens (creating when needed) the canonical LMDB store in `dir`. One writer process at a time:
 * a second gets `LOCKED`; `readOnly` opens are always allowed and follow the writer's commits.
 *
 * @example
 * const store = await openLmdbStore('./data/canonical')
 * await store.commit((tx) => { tx.put('alice', TypedValue.i64(100n)); tx.appendEvent('opened', { who: 'alice' }) })
 * store.get('alice')?.asI64() // 100n
 * await store.close()
 */
export async function openLmdbStore(dir: string, options: LmdbStoreOptions = {}): Promise<LmdbStore> {
  const opts = resolveOptions(options)
  const path = resolve(dir)
  const { createDir } = asAzothError(() => checkBeforeOpen(path, opts), path)
  const createdDir = createDir ? createDirectory(path) : undefined
  const dataFile = join(path, DATA_FILE)
  const newDataFile = !existsSync(dataFile)
  let lock: ProcessLock | undefined
  let dbs: StoreDatabases | undefined
  let reserve: SpaceReserve | undefined
  let eventLog: EventLog | undefined
  try {
    if (!opts.readOnly) lock = acquireProcessLock(join(path, WRITER_LOCK_FILE), `the store in ${path}`)
    prepareLmdbFiles(
      dataFile,
      join(path, LMDB_LOCK_FILE),
      !opts.readOnly && (newDataFile || statSync(dataFile).size === 0),
    )
    dbs = openDatabases(dataFile, path, {
      readOnly: opts.readOnly,
      mustExist: opts.mustExist,
      mapSize: opts.mapSize,
      location: opts.eventLog ? 'external' : 'lmdb',
      durability: opts.durability,
    })
    eventLog =
      typeof opts.eventLog === 'function'
        ? await opts.eventLog(readHead(dbs.meta, dbs.events))
        : opts.eventLog
    if (eventLog) await reconcileEventLog(dbs, eventLog, path, opts.readOnly)
    if (!opts.readOnly && opts.reserveSpace) reserve = openReserve(dataFile, dbs)
    return new LmdbStore({
      dir: path,
      dbs,
      readOnly: opts.readOnly,
      durability: opts.durability,
      limits: opts.limits,
      clock: opts.clock,
      logger: opts.logger.child({ component: 'store-lmdb' }),
      eventLog,
      eventChunkBytes: opts.eventChunkBytes,
      readAhead: readAheadTarget(dataFile, opts.backgroundChecksums && eventLog === undefined),
      lock,
      reserve,
      idempotency: opts.idempotency,
    })
  } catch (e) {
    reserve?.close()
    // A log this open opened is this open's to close; one the caller passed stays the caller's.
    if (eventLog !== undefined && typeof opts.eventLog === 'function')
      await eventLog
        .close()
        .catch((err: unknown) => opts.logger.error({ err }, 'closing after a failed open'))
    if (dbs) await dbs.env.close()
    // A failed open leaves the disk as it found it: what it created goes, but only under the writer
    // lock (without it, another writer may have created the same files meanwhile).
    if (lock !== undefined) {
      undoCreation(path, createdDir, newDataFile, opts.logger)
      lock.release()
    }
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot open the store in ${path}`, { cause: e, details: { path } })
  }
}

/** Runs `fn`; a raw error (a file that cannot be read or stat'ed) becomes `IO` naming the store. */
function asAzothError<T>(fn: () => T, path: string): T {
  try {
    return fn()
  } catch (e) {
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot open the store in ${path}`, { cause: e, details: { path } })
  }
}

function openReserve(dataFile: string, dbs: StoreDatabases): SpaceReserve {
  try {
    return new SpaceReserve(dataFile, (dbs.env.getStats() as { pageSize: number }).pageSize)
  } catch (e) {
    throw new AzothError('IO', `cannot open ${dataFile} to reserve space`, {
      cause: e,
      details: { path: dataFile },
    })
  }
}

/** Removes what a failed open created: a new data file with LMDB's lock file, or the whole new directory. */
function undoCreation(
  dir: string,
  createdDir: string | undefined,
  newDataFile: boolean,
  logger: ResolvedLmdbStoreOptions['logger'],
): void {
  try {
    if (createdDir !== undefined) {
      rmSync(createdDir, { recursive: true, force: true })
    } else if (newDataFile) {
      rmSync(join(dir, DATA_FILE), { force: true })
      rmSync(join(dir, LMDB_LOCK_FILE), { force: true })
    }
  } catch (e) {
    logger.error({ err: toError(e), path: dir }, 'could not remove what a failed open created')
  }
}

/** The append-then-commit protocol: the log may run ahead of LMDB (cut it back), never behind. */
async function reconcileEventLog(
  dbs: StoreDatabases,
  log: EventLog,
  dir: string,
  readOnly: boolean,
): Promise<void> {
  const head = readHead(dbs.meta, dbs.events)
  let logHead = log.head()
  // A reader opened the log before LMDB, and a live writer appends to the log before it commits
  // LMDB: a log that looks behind may only be older than the head, so read it again first.
  if (logHead < head && log.refresh !== undefined) logHead = log.refresh()
  if (logHead < head) {
    throw new CorruptionError(
      `the event log ends at ${logHead} but the store committed up to ${head}: events are missing`,
      {
        details: { path: dir, logHead, head },
      },
    )
  }
  // Only the writer cuts back a log that ran ahead; a reader serves up to LMDB's head anyway.
  if (logHead > head && !readOnly) await log.truncateAfter(head)
}
