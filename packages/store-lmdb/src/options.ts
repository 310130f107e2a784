import {
  type Clock,
  type Durability,
  type EventLog,
  type Limits,
  type Logger,
  silentLogger,
  systemClock,
} from '@azothdb/core'
import { checkKnownFields, checkOneOf, resolveLimits } from '@azothdb/core/internal'

/** Options of {@link openLmdbStore}. */
export interface LmdbStoreOptions {
  /** `'sync'` (default): a commit resolves once on disk. `'relaxed'`: once the OS has it. */
  readonly durability?: Durability
  /** Open for reading only: no lock, no writes; sees what the writer process commits. */
  readonly readOnly?: boolean
  /** Create the directory when missing (default true; ignored for read-only opens). */
  readonly create?: boolean
  /** Where events go: the built-in LMDB event log (default), or any `EventLog` (e.g. the file log). */
  readonly eventLog?: EventLog
  /**
   * Size limits for keys, values and events; omitted fields keep `DEFAULT_LIMITS` from
   * `@azothdb/core`. A bad field raises `CONFIG`.
   */
  readonly limits?: Partial<Limits>
  /** Timestamps of events (default: wall clock). */
  readonly clock?: Clock
  /** Where failures (a failed open, a failed event-log write) are logged (default: silent). */
  readonly logger?: Logger
  /** Initial LMDB map size in bytes; LMDB grows it as needed. */
  readonly mapSize?: number
  /** Largest number of event bytes packed into one LMDB entry (default 1 MiB). */
  readonly eventChunkBytes?: number
}

export interface ResolvedLmdbStoreOptions {
  readonly durability: Durability
  readonly readOnly: boolean
  readonly create: boolean
  readonly eventLog: EventLog | undefined
  readonly limits: Limits
  readonly clock: Clock
  readonly logger: Logger
  readonly mapSize: number | undefined
  readonly eventChunkBytes: number
}

const KNOWN = [
  'durability',
  'readOnly',
  'create',
  'eventLog',
  'limits',
  'clock',
  'logger',
  'mapSize',
  'eventChunkBytes',
] as const

export function resolveOptions(options: LmdbStoreOptions = {}): ResolvedLmdbStoreOptions {
  checkKnownFields('openLmdbStore', options, KNOWN)
  return {
    durability: checkOneOf('durability', options.durability ?? 'sync', ['sync', 'relaxed'] as const),
    readOnly: options.readOnly ?? false,
    create: options.create ?? true,
    eventLog: options.eventLog,
    limits: resolveLimits(options.limits),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger,
    mapSize: options.mapSize,
    eventChunkBytes: options.eventChunkBytes ?? 1024 * 1024,
  }
}
