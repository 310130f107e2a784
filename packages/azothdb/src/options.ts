import {
  type AnyEvents,
  type Clock,
  ConfigError,
  type Durability,
  type EventDefinitions,
  type IdempotencyWindow,
  type Limits,
  type Logger,
  type ProjectionBackend,
  type ProjectionTxControl,
  systemClock,
} from '@azothdb/core'
import {
  checkInteger,
  checkKnownFields,
  checkOneOf,
  checkOption,
  type FileSystem,
  fileSystemOf,
  isEventDefinitions,
  resolveIdempotencyWindow,
  resolveLimits,
  rules,
  withMethods,
} from '@azothdb/core/internal'
import { type SqliteTx, sqliteProjection } from '@azothdb/projection-sqlite'
import type { EventLogKind } from './database-layout.js'
import { defaultLogger } from './default-logger.js'

/** Options of `Azoth.open`; `Tx` is the projection's transaction (set by the `projection` option). */
export interface AzothOptions<Tx extends ProjectionTxControl = SqliteTx, E = AnyEvents> {
  /**
   * The database's event types and payloads, as a type: `defineEvents<CartEvents>()` makes event
   * appends, reads and handlers type-checked against `CartEvents` (nothing is checked at run time).
   */
  readonly events?: EventDefinitions<E>
  /**
   * Where projections live: `sqliteProjection()` (default: `projection.db` in the directory) or a
   * networked store such as `postgresProjection({ connectionString })` from `@azothdb/projection-postgres`.
   */
  readonly projection?: ProjectionBackend<Tx>
  /** Where events live: in LMDB with the state (default for a new database), or in a segmented file log. */
  readonly eventLog?: EventLogKind
  /** `'sync'` (default): a commit resolves once on disk. `'relaxed'`: once the OS has it. */
  readonly durability?: Durability
  /** Number of lock stripes for preflight (default 16,384: few collisions among thousands of concurrent keys). */
  readonly stripes?: number
  /** How long a transaction waits for its stripe locks before `LOCK_TIMEOUT` (default 5000 ms). */
  readonly lockTimeoutMs?: number
  /** Event timestamps and every wait (default: wall clock). A fixed clock makes runs deterministic. */
  readonly clock?: Clock
  /** A pino (or pino-compatible) logger; default: pino at `AZOTH_LOG_LEVEL` or `warn`, to stderr. */
  readonly logger?: Logger
  /** Size limits checked before anything is written (key 511 B, value 16 MiB, event 4 MiB, 64 MiB of events per transaction by default). */
  readonly limits?: Partial<Limits>
  /**
   * How long idempotency keys are remembered (see "Idempotency keys" in the README): the last
   * `maxKeys` keys (default 100,000), each for `maxAgeMs` of the database clock (default 24 h).
   */
  readonly idempotency?: Partial<IdempotencyWindow>
  /** Create the directory when it holds no database (default true). */
  readonly create?: boolean
  /** Size at which the file log starts a new segment (default 512 MiB). */
  readonly segmentBytes?: number
  /**
   * A transaction whose commit takes longer than this (from `execute` to acknowledgement) is logged
   * as a warning, at most one record a second (default 1000 ms; 0 turns it off).
   */
  readonly slowCommitMs?: number
}

export interface ResolvedAzothOptions {
  // biome-ignore lint/suspicious/noExplicitAny: the database's type parameter carries the backend's Tx.
  readonly projection: ProjectionBackend<any>
  readonly eventLog: EventLogKind | undefined
  readonly durability: Durability
  readonly stripes: number
  readonly lockTimeoutMs: number
  readonly clock: Clock
  readonly logger: Logger
  readonly limits: Limits
  readonly idempotency: IdempotencyWindow
  readonly create: boolean
  readonly segmentBytes: number | undefined
  readonly slowCommitMs: number
  /** The file log's file layer when a test passed one under core's internal FILE_SYSTEM key. */
  readonly fileSystem: FileSystem | undefined
}

const KNOWN = [
  'events',
  'projection',
  'eventLog',
  'durability',
  'stripes',
  'lockTimeoutMs',
  'clock',
  'logger',
  'limits',
  'idempotency',
  'create',
  'segmentBytes',
  'slowCommitMs',
] as const

/** The options `Azoth.openReadOnly` takes: a read-only open neither creates nor chooses a backend. */
export const READ_ONLY_OPTIONS = KNOWN.filter((f) => f !== 'create' && f !== 'eventLog')

/** The options `Azoth.restoreFrom` takes: the backup says which event log the database has. */
export const RESTORE_OPTIONS = KNOWN.filter((f) => f !== 'eventLog')

const PROJECTION = withMethods<ProjectionBackend>(
  'a ProjectionBackend (sqliteProjection(), postgresProjection())',
  ['open'],
)

/**
 * Fills in defaults; a bad option (or options that are not an object, or a field `what` does not
 * take) raises `CONFIG` naming it, before anything touches the disk.
 */
export function resolveOptions(
  what: string,
  options: unknown,
  known: readonly string[] = KNOWN,
): ResolvedAzothOptions {
  checkKnownFields(what, options, known)
  const o = (options ?? {}) as AzothOptions<ProjectionTxControl>
  // A type only: checked to be what defineEvents made, and otherwise unused.
  if (o.events !== undefined && !isEventDefinitions(o.events)) {
    throw new ConfigError('events must be the value defineEvents<...>() returns', {
      details: { field: 'events' },
    })
  }
  return {
    projection:
      o.projection === undefined ? sqliteProjection() : checkOption('projection', o.projection, PROJECTION),
    eventLog:
      o.eventLog === undefined ? undefined : checkOneOf('eventLog', o.eventLog, ['lmdb', 'file'] as const),
    durability: checkOneOf('durability', o.durability ?? 'sync', ['sync', 'relaxed'] as const),
    stripes: checkInteger('stripes', o.stripes ?? 16_384, 1, 1 << 20),
    lockTimeoutMs: checkInteger('lockTimeoutMs', o.lockTimeoutMs ?? 5000, 0),
    clock: o.clock === undefined ? systemClock : checkOption('clock', o.clock, rules.clock),
    logger: o.logger === undefined ? defaultLogger() : checkOption('logger', o.logger, rules.logger),
    limits: resolveLimits(o.limits),
    idempotency: resolveIdempotencyWindow(o.idempotency),
    create: o.create === undefined ? true : checkOption('create', o.create, rules.boolean),
    segmentBytes:
      o.segmentBytes === undefined ? undefined : checkInteger('segmentBytes', o.segmentBytes, 4096),
    slowCommitMs: checkInteger('slowCommitMs', o.slowCommitMs ?? 1000, 0),
    fileSystem: fileSystemOf(options),
  }
}
