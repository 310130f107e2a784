import {
  type Clock,
  ConfigError,
  type Durability,
  type EventId,
  type EventLog,
  type IdempotencyWindow,
  type Limits,
  type Logger,
  silentLogger,
  systemClock,
} from '@azothdb/core'
import { checkKnownFields, checkOneOf, resolveIdempotencyWindow, resolveLimits } from '@azothdb/core/internal'

/** Opens an external event log once the store knows its committed head (see `eventLog`). */
export type EventLogOpener = (committedHead: EventId) => Promise<EventLog>

/** Options of {@link openLmdbStore}. */
export interface LmdbStoreOptions {
  /** `'sync'` (default): a commit resolves once on disk. `'relaxed'`: once the OS has it. */
  readonly durability?: Durability
  /** Open for reading only: no lock, no writes; sees what the writer process commits. */
  readonly readOnly?: boolean
  /** Create the directory when missing (default true; ignored for read-only opens). */
  readonly create?: boolean
  /**
   * Where events go: the built-in LMDB event log (default), or any `EventLog` (e.g. the file log),
   * or a function that opens one given the head LMDB committed: an opener lets a log that repairs
   * itself on open refuse, instead of cutting, a tail that committed events need.
   */
  readonly eventLog?: EventLog | EventLogOpener
  /**
   * Size limits for keys, values and events; omitted fields keep `DEFAULT_LIMITS` from
   * `@azothdb/core`. A bad field raises `CONFIG`.
   */
  readonly limits?: Partial<Limits>
  /**
   * How long idempotency keys are remembered: the last `maxKeys` keys (default 100,000), each for
   * `maxAgeMs` of the clock (default 24 hours). A bad field raises `CONFIG`.
   */
  readonly idempotency?: Partial<IdempotencyWindow>
  /** Timestamps of events and idempotency keys (default: wall clock). */
  readonly clock?: Clock
  /** Where failures (a failed open, a failed event-log write) are logged (default: silent). */
  readonly logger?: Logger
  /**
   * The store must already exist (default false): a missing directory, a missing or empty
   * `data.mdb`, or an environment that never committed a store is `CORRUPTION` instead of a new,
   * empty store. For callers that know a store was created here (the facade, when `azoth.json` exists).
   */
  readonly mustExist?: boolean
  /**
   * Keep allocated space in `data.mdb` ahead of LMDB's writes (default true): `data.mdb` grows in
   * steps of 8 MiB of zeros, and on a full disk a commit fails with `IO` (`details.errno: 'ENOSPC'`)
   * before LMDB writes anything. Turned off, LMDB itself meets the full disk, and the LMDB that
   * lmdb-js builds can corrupt the process heap when a page write fails.
   */
  readonly reserveSpace?: boolean
  /** Initial LMDB map size in bytes; LMDB grows it as needed. */
  readonly mapSize?: number
  /**
   * Largest number of event bytes packed into one LMDB entry (default 16 KiB; an event larger than
   * this gets an entry of its own). lmdb-js copies a whole entry on every read, so a stream read,
   * which reads a few events of many entries, pays for the entry's size; iteration reads every
   * byte anyway and runs as fast with 16 KiB as with 64 KiB entries.
   */
  readonly eventChunkBytes?: number
  /**
   * Read and check the chunks of long event scans (`events()` over more than 8,192 events) ahead
   * on a worker thread, when the machine has more than one core (default true). Scans return the
   * same events and raise the same errors either way; the worker ends when the store closes.
   */
  readonly backgroundChecksums?: boolean
}

export interface ResolvedLmdbStoreOptions {
  readonly durability: Durability
  readonly readOnly: boolean
  readonly create: boolean
  readonly mustExist: boolean
  readonly reserveSpace: boolean
  readonly eventLog: EventLog | EventLogOpener | undefined
  readonly limits: Limits
  readonly idempotency: IdempotencyWindow
  readonly clock: Clock
  readonly logger: Logger
  readonly mapSize: number | undefined
  readonly eventChunkBytes: number
  readonly backgroundChecksums: boolean
}

const KNOWN = [
  'durability',
  'readOnly',
  'create',
  'mustExist',
  'reserveSpace',
  'eventLog',
  'limits',
  'idempotency',
  'clock',
  'logger',
  'mapSize',
  'eventChunkBytes',
  'backgroundChecksums',
] as const

export function resolveOptions(options: LmdbStoreOptions = {}): ResolvedLmdbStoreOptions {
  checkKnownFields('openLmdbStore', options, KNOWN)
  return {
    durability: checkOneOf('durability', options.durability ?? 'sync', ['sync', 'relaxed'] as const),
    readOnly: checkBoolean('readOnly', options.readOnly, false),
    create: checkBoolean('create', options.create, true),
    mustExist: checkBoolean('mustExist', options.mustExist, false),
    reserveSpace: checkBoolean('reserveSpace', options.reserveSpace, true),
    eventLog: options.eventLog,
    limits: resolveLimits(options.limits),
    idempotency: resolveIdempotencyWindow(options.idempotency),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    mapSize: checkPositiveInteger('mapSize', options.mapSize, undefined),
    eventChunkBytes: checkPositiveInteger('eventChunkBytes', options.eventChunkBytes, 16 * 1024),
    backgroundChecksums: checkBoolean('backgroundChecksums', options.backgroundChecksums, true),
  }
}

function checkPositiveInteger<F extends number | undefined>(
  field: string,
  value: unknown,
  fallback: F,
): number | F {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ConfigError(`openLmdbStore: ${field} must be a positive integer, got ${String(value)}`, {
      details: { field, value },
    })
  }
  return value
}

function checkBoolean(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') {
    throw new ConfigError(`openLmdbStore: ${field} must be true or false, got ${String(value)}`, {
      details: { field, value },
    })
  }
  return value
}
