import { type Clock, ConfigError, type Logger, silentLogger, systemClock } from '@azothdb/core'
import {
  checkInteger,
  checkKnownFields,
  checkOneOf,
  checkOption,
  optional,
  rules,
} from '@azothdb/core/internal'

/**
 * SQLite's `synchronous` setting for the writer. `'NORMAL'` (default): in WAL mode a commit
 * survives a process crash and the file never corrupts, but a power loss may drop the last
 * transactions; for projections that is safe, because the cursor is dropped with them and the
 * projector re-applies those events from the event log. `'FULL'`: every commit is fsynced.
 */
export type SqliteSynchronous = 'NORMAL' | 'FULL'

/** Options of `SqliteProjectionStore.open`. */
export interface SqliteProjectionStoreOptions {
  /** The database file, or `':memory:'` (no reader connections then; queries use the writer). */
  readonly path: string
  /** Default `'NORMAL'`; see {@link SqliteSynchronous}. */
  readonly synchronous?: SqliteSynchronous
  /** Open an existing file for reading only (another process writes it); writes raise `READ_ONLY`. */
  readonly readOnly?: boolean
  /** Read-only connections for `SqliteProjectionStore.query`, used round-robin. Default 2. */
  readonly readers?: number
  /** How long a connection waits for another process's lock before `SQLITE_BUSY`. Default 5,000 ms. */
  readonly busyTimeoutMs?: number
  /** Prepared statements kept per connection. Default 500. */
  readonly statementCacheSize?: number
  /** Stamps cursor updates and migration history. Default: the system clock. */
  readonly clock?: Clock
  /**
   * Where failures the store handles itself (a failed ROLLBACK, a seal it could not write or had
   * to ignore) are logged (default: silent).
   */
  readonly logger?: Logger
}

const KNOWN_OPTIONS = [
  'path',
  'readOnly',
  'synchronous',
  'readers',
  'busyTimeoutMs',
  'statementCacheSize',
  'clock',
  'logger',
]

/** The options with their defaults, checked: anything off is `CONFIG`. */
export function resolveStoreOptions(options: SqliteProjectionStoreOptions) {
  checkKnownFields('SqliteProjectionStore', options, KNOWN_OPTIONS)
  if (typeof options.path !== 'string' || options.path.length === 0) {
    throw new ConfigError('path must be a non-empty string', { details: { field: 'path' } })
  }
  const readOnly = options.readOnly ?? false
  if (typeof readOnly !== 'boolean') {
    throw new ConfigError('readOnly must be a boolean', { details: { field: 'readOnly' } })
  }
  return {
    path: options.path,
    synchronous: checkOneOf('synchronous', options.synchronous ?? 'NORMAL', ['NORMAL', 'FULL'] as const),
    readers: checkInteger('readers', options.readers ?? 2, 0, 64),
    busyTimeoutMs: checkInteger('busyTimeoutMs', options.busyTimeoutMs ?? 5_000, 0),
    statementCacheSize: checkInteger('statementCacheSize', options.statementCacheSize ?? 500, 16),
    clock: checkOption('clock', options.clock, optional(rules.clock)) ?? systemClock,
    logger: checkOption('logger', options.logger, optional(rules.logger)) ?? silentLogger,
    readOnly,
  }
}
