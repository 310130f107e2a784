import { AzothError, ConfigError, CorruptionError, type Durability } from '@azothdb/core'
import { type Database, open, type RootDatabase } from 'lmdb'
import {
  type EventsLocation,
  formatBytes,
  headBytes,
  META_EVENTS,
  META_FORMAT,
  META_HEAD,
  readEventsLocation,
  readFormat,
  STORE_FORMAT_VERSION,
} from './meta.js'
import type { StoreDatabases } from './store-databases.js'
import type { StreamDatabases } from './stream-runs.js'

type Bytes = Uint8Array

/** How {@link openDatabases} may treat an environment that holds no store yet. */
export interface OpenDatabasesOptions {
  readonly readOnly: boolean
  /** The store must already exist: an environment without one is `CORRUPTION`, never initialised. */
  readonly mustExist: boolean
  readonly mapSize: number | undefined
  readonly location: EventsLocation
  /** Picks how LMDB syncs its commits (see {@link openDatabases}). */
  readonly durability: Durability
}

/**
 * Opens the LMDB environment in `dataFile` and Azoth's databases in it. Nothing is written to an
 * existing store: its databases are looked up, not created, and its format version and events
 * location are checked first, so a refused open (a newer format, a different event log, missing
 * databases) leaves the file as it was. Only an environment that holds nothing yet is initialised,
 * in one transaction, unless the store must exist.
 */
export function openDatabases(dataFile: string, dir: string, options: OpenDatabasesOptions): StoreDatabases {
  let env: RootDatabase<Bytes, Bytes>
  try {
    env = open<Bytes, Bytes>({
      path: dataFile,
      maxDbs: 8,
      readOnly: options.readOnly,
      keyEncoding: 'binary',
      encoding: 'binary',
      ...syncFlags(options.durability),
      // A group commit queues all its writes in one event turn; this keeps them in one transaction.
      eventTurnBatching: true,
      ...(options.mapSize === undefined ? {} : { mapSize: options.mapSize }),
    })
  } catch (e) {
    throw new AzothError('IO', `cannot open the LMDB environment in ${dir}`, {
      cause: e,
      details: { path: dir },
    })
  }
  try {
    const existing = lookUp(env)
    if (existing.meta === undefined && existing.state === undefined && existing.events === undefined) {
      if (!isEmpty(env)) throw lacksDatabases(dir)
      return initialise(env, dir, options)
    }
    if (existing.meta === undefined) throw lacksDatabases(dir)
    if (readFormat(existing.meta) === undefined) return initialise(env, dir, options)
    checkMeta(existing.meta, dir, options)
    if (existing.state === undefined || existing.events === undefined) throw lacksDatabases(dir)
    return {
      env,
      meta: existing.meta,
      state: existing.state,
      events: existing.events,
      streams: existing.streams ?? (options.readOnly ? undefined : createStreamDatabases(env)),
      idempotency: existing.idempotency ?? (options.readOnly ? undefined : createIdempotencyDatabase(env)),
    }
  } catch (e) {
    void env.close()
    throw e
  }
}

/**
 * LMDB's sync flags for a durability. Never lmdb-js `noSync`: LMDB may then write a meta page
 * before the pages it points to reach the disk, and a power loss corrupts the file.
 *
 * 'sync': LMDB's own durable commit: the write thread syncs the data pages, then writes the meta
 * page synchronously, and only then does lmdb-js resolve the commit. Not lmdb-js `overlappingSync`:
 * its commit promise resolves only once the commit is synced too (lmdb-js marks a transaction
 * committed when `mdb_txn_commit` returns, and with `overlappingSync` that call syncs before
 * returning), so it overlaps nothing for us, and it costs more per commit: an extra meta write,
 * an extra main-thread callback, and a third meta slot that an open without it does not read (a
 * store last written with it and reopened without it after a power loss could start from a meta
 * page whose pages never reached the disk: simulated, that open reads MDB_CORRUPTED). Measured on
 * a busy 2-core machine, alternating blocks in one process (three runs of 10-20 rounds): one
 * awaiting caller +9% to +21% (paired medians), 5-12% less process CPU per commit; 64 callers:
 * `tx.log` +22%, stream appends unchanged.
 *
 * 'relaxed': LMDB's `noMetaSync`: each commit syncs its data pages but not the meta page, which the
 * next commit's sync carries. A power loss may lose the last commit, never corrupts (LMDB falls back
 * to the previous meta page, whose pages are on disk). This is the only safe LMDB mode that
 * acknowledges a commit after a single sync; one awaiting caller is bound by it (about 2,000-3,000
 * commits/s here, where the same commits without any sync, unsafe, reach 5,600-6,900/s through
 * this store).
 */
function syncFlags(durability: Durability) {
  return durability === 'sync' ? { overlappingSync: false } : { overlappingSync: false, noMetaSync: true }
}

interface FoundDatabases {
  readonly state: Database<Bytes, Bytes> | undefined
  readonly events: Database<Bytes, Bytes> | undefined
  readonly meta: Database<Bytes, Bytes> | undefined
  readonly streams: StreamDatabases | undefined
  readonly idempotency: Database<Bytes, Bytes> | undefined
}

function lookUp(env: RootDatabase<Bytes, Bytes>): FoundDatabases {
  const named = { keyEncoding: 'binary', encoding: 'binary', create: false } as const
  // lmdb-js returns undefined for a database that does not exist when create is false.
  const find = (name: string) =>
    env.openDB<Bytes, Bytes>({ name, ...named }) as Database<Bytes, Bytes> | undefined
  const index = find(STREAM_INDEX_DB)
  const heads = find(STREAM_HEADS_DB)
  return {
    state: find('state'),
    events: find('events'),
    meta: find('meta'),
    streams: index === undefined || heads === undefined ? undefined : { index, heads },
    idempotency: find(IDEMPOTENCY_DB),
  }
}

const STREAM_INDEX_DB = 'stream-index'
const STREAM_HEADS_DB = 'stream-heads'
const IDEMPOTENCY_DB = 'idempotency'

/**
 * Creates the stream index's databases (empty) in one transaction: in a new store, and in a store
 * written before streams existed, which has no stream events to index.
 */
function createStreamDatabases(env: RootDatabase<Bytes, Bytes>): StreamDatabases {
  const named = { keyEncoding: 'binary', encoding: 'binary', create: true } as const
  return env.transactionSync(() => ({
    index: env.openDB<Bytes, Bytes>({ name: STREAM_INDEX_DB, ...named }),
    heads: env.openDB<Bytes, Bytes>({ name: STREAM_HEADS_DB, ...named }),
  }))
}

/**
 * Creates the idempotency database (empty): in a new store, and at the first writable open of a
 * store written before idempotency keys existed (no format change: older code ignores it).
 */
function createIdempotencyDatabase(env: RootDatabase<Bytes, Bytes>): Database<Bytes, Bytes> {
  const named = { keyEncoding: 'binary', encoding: 'binary', create: true } as const
  return env.transactionSync(() => env.openDB<Bytes, Bytes>({ name: IDEMPOTENCY_DB, ...named }))
}

function isEmpty(env: RootDatabase<Bytes, Bytes>): boolean {
  for (const _ of env.getKeys({ limit: 1 })) return false
  return true
}

function lacksDatabases(dir: string): CorruptionError {
  return new CorruptionError(`the LMDB environment in ${dir} lacks Azoth's databases`, {
    details: { path: dir },
  })
}

/** Creates the databases and writes the format version and events location, in one transaction. */
function initialise(
  env: RootDatabase<Bytes, Bytes>,
  dir: string,
  options: OpenDatabasesOptions,
): StoreDatabases {
  if (options.readOnly) throw new AzothError('NOT_FOUND', `no store in ${dir}`, { details: { path: dir } })
  if (options.mustExist) {
    throw new CorruptionError(`the LMDB environment in ${dir} holds no store, yet one must exist there`, {
      details: { path: dir },
    })
  }
  const named = { keyEncoding: 'binary', encoding: 'binary', create: true } as const
  return env.transactionSync(() => {
    const dbs: StoreDatabases = {
      env,
      state: env.openDB<Bytes, Bytes>({ name: 'state', ...named }),
      events: env.openDB<Bytes, Bytes>({ name: 'events', ...named }),
      meta: env.openDB<Bytes, Bytes>({ name: 'meta', ...named }),
      streams: {
        index: env.openDB<Bytes, Bytes>({ name: STREAM_INDEX_DB, ...named }),
        heads: env.openDB<Bytes, Bytes>({ name: STREAM_HEADS_DB, ...named }),
      },
      idempotency: env.openDB<Bytes, Bytes>({ name: IDEMPOTENCY_DB, ...named }),
    }
    dbs.meta.putSync(META_FORMAT, formatBytes(STORE_FORMAT_VERSION))
    dbs.meta.putSync(META_EVENTS, Buffer.from(options.location))
    dbs.meta.putSync(META_HEAD, headBytes(0))
    return dbs
  })
}

/** Checks the format version and where the events live; reads only. */
function checkMeta(meta: Database<Bytes, Bytes>, dir: string, options: OpenDatabasesOptions): void {
  const format = readFormat(meta)
  if (format !== undefined && format > STORE_FORMAT_VERSION) {
    throw new ConfigError(
      `the store in ${dir} has format ${format}, newer than this version of Azoth reads (${STORE_FORMAT_VERSION}); upgrade Azoth`,
      { details: { field: 'format', value: format, path: dir } },
    )
  }
  // Older formats lack the checksums every read checks; nothing of them was published, so there is
  // no migration: a store of one is refused rather than read as damaged.
  if (format !== undefined && format < STORE_FORMAT_VERSION) {
    throw new ConfigError(
      `the store in ${dir} has format ${format}, this version of Azoth reads format ${STORE_FORMAT_VERSION} only (no migration from earlier formats)`,
      { details: { field: 'format', value: format, path: dir } },
    )
  }
  const stored = readEventsLocation(meta) ?? 'lmdb'
  if (!options.readOnly && stored !== options.location) {
    throw new ConfigError(
      `the store in ${dir} keeps its events in ${stored === 'lmdb' ? 'LMDB' : 'an external event log'}; open it the same way`,
      { details: { field: 'eventLog', value: options.location, path: dir } },
    )
  }
}
