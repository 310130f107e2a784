import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { AzothError, ConfigError, CorruptionError, isAzothError } from '@azothdb/core'
import { acquireProcessLock, type ProcessLock } from '@azothdb/core/internal'
import { open, type RootDatabase } from 'lmdb'
import { LmdbStore, type StoreDatabases } from './lmdb-store.js'
import {
  type EventsLocation,
  formatBytes,
  headBytes,
  META_EVENTS,
  META_FORMAT,
  META_HEAD,
  readEventsLocation,
  readFormat,
  readHead,
  STORE_FORMAT_VERSION,
} from './meta.js'
import { type LmdbStoreOptions, resolveOptions } from './options.js'
import { checkLmdbFile, DATA_FILE } from './store-backup.js'

/** Name of the writer lock file inside a store directory. */
export const WRITER_LOCK_FILE = 'writer.lock'

type Bytes = Uint8Array

function prepareDirectory(dir: string, readOnly: boolean, create: boolean): void {
  if (!existsSync(dir)) {
    if (readOnly || !create) {
      throw new AzothError('NOT_FOUND', `store directory ${dir} does not exist`, { details: { path: dir } })
    }
    try {
      mkdirSync(dir, { recursive: true })
    } catch (e) {
      throw new AzothError('IO', `cannot create the store directory ${dir}`, {
        cause: e,
        details: { path: dir },
      })
    }
  } else if (!statSync(dir).isDirectory()) {
    throw new AzothError('INVALID_ARGUMENT', `${dir} is not a directory`, { details: { path: dir } })
  }
  if (readOnly) {
    if (!existsSync(join(dir, DATA_FILE))) {
      throw new AzothError('NOT_FOUND', `no store in ${dir}`, { details: { path: dir } })
    }
    return
  }
  try {
    accessSync(dir, constants.W_OK)
  } catch (e) {
    throw new AzothError('IO', `store directory ${dir} is not writable`, { cause: e, details: { path: dir } })
  }
}

function openDatabases(dir: string, readOnly: boolean, mapSize: number | undefined): StoreDatabases {
  const dataFile = join(dir, DATA_FILE)
  if (existsSync(dataFile) && statSync(dataFile).size > 0) checkLmdbFile(dataFile)
  let env: RootDatabase<Bytes, Bytes>
  try {
    env = open<Bytes, Bytes>({
      path: dataFile,
      maxDbs: 8,
      readOnly,
      keyEncoding: 'binary',
      encoding: 'binary',
      // Write promises resolve at commit; 'sync' callers also wait for env.flushed. Never noSync.
      overlappingSync: true,
      // A group commit queues all its writes in one event turn; this keeps them in one transaction.
      eventTurnBatching: true,
      ...(mapSize === undefined ? {} : { mapSize }),
    })
  } catch (e) {
    throw new AzothError('IO', `cannot open the LMDB environment in ${dir}`, {
      cause: e,
      details: { path: dir },
    })
  }
  try {
    const named = { keyEncoding: 'binary', encoding: 'binary', create: !readOnly } as const
    return {
      env,
      state: env.openDB<Bytes, Bytes>({ name: 'state', ...named }),
      events: env.openDB<Bytes, Bytes>({ name: 'events', ...named }),
      meta: env.openDB<Bytes, Bytes>({ name: 'meta', ...named }),
    }
  } catch (e) {
    void env.close()
    throw new CorruptionError(`the LMDB environment in ${dir} lacks Azoth's databases`, {
      cause: e,
      details: { path: dir },
    })
  }
}

/** Checks (and, for a new store, writes) the format version and where the events live. */
function checkMeta(dbs: StoreDatabases, dir: string, readOnly: boolean, location: EventsLocation): void {
  const format = readFormat(dbs.meta)
  if (format === undefined) {
    if (readOnly) throw new AzothError('NOT_FOUND', `no store in ${dir}`, { details: { path: dir } })
    dbs.env.transactionSync(() => {
      dbs.meta.putSync(META_FORMAT, formatBytes(STORE_FORMAT_VERSION))
      dbs.meta.putSync(META_EVENTS, Buffer.from(location))
      dbs.meta.putSync(META_HEAD, headBytes(0))
    })
    return
  }
  if (format > STORE_FORMAT_VERSION) {
    throw new ConfigError(
      `the store in ${dir} has format ${format}, newer than this version of Azoth reads (${STORE_FORMAT_VERSION}); upgrade Azoth`,
      { details: { field: 'format', value: format, path: dir } },
    )
  }
  const stored = readEventsLocation(dbs.meta) ?? 'lmdb'
  if (!readOnly && stored !== location) {
    throw new ConfigError(
      `the store in ${dir} keeps its events in ${stored === 'lmdb' ? 'LMDB' : 'an external event log'}; open it the same way`,
      { details: { field: 'eventLog', value: location, path: dir } },
    )
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
  prepareDirectory(path, opts.readOnly, opts.create)
  let lock: ProcessLock | undefined
  if (!opts.readOnly) lock = acquireProcessLock(join(path, WRITER_LOCK_FILE), `the store in ${path}`)
  let dbs: StoreDatabases | undefined
  try {
    dbs = openDatabases(path, opts.readOnly, opts.mapSize)
    checkMeta(dbs, path, opts.readOnly, opts.eventLog ? 'external' : 'lmdb')
    if (opts.eventLog && !opts.readOnly) await reconcileEventLog(dbs, opts.eventLog, path)
    return new LmdbStore({
      dir: path,
      dbs,
      readOnly: opts.readOnly,
      durability: opts.durability,
      limits: opts.limits,
      clock: opts.clock,
      logger: opts.logger.child({ component: 'store-lmdb' }),
      eventLog: opts.eventLog,
      eventChunkBytes: opts.eventChunkBytes,
      lock,
    })
  } catch (e) {
    if (dbs) await dbs.env.close()
    lock?.release()
    if (isAzothError(e)) throw e
    throw new AzothError('IO', `cannot open the store in ${path}`, { cause: e, details: { path } })
  }
}

/** DESIGN.md's atomic protocol: the log may run ahead of LMDB (cut it back), never behind. */
async function reconcileEventLog(
  dbs: StoreDatabases,
  log: NonNullable<LmdbStoreOptions['eventLog']>,
  dir: string,
): Promise<void> {
  const head = readHead(dbs.meta, dbs.events)
  const logHead = log.head()
  if (logHead < head) {
    throw new CorruptionError(
      `the event log ends at ${logHead} but the store committed up to ${head}: events are missing`,
      {
        details: { path: dir, logHead, head },
      },
    )
  }
  if (logHead > head) await log.truncateAfter(head)
}
