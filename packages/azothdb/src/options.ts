import { type Clock, type Durability, type Limits, type Logger, systemClock } from '@azothdb/core'
import { checkInteger, checkKnownFields, checkOneOf, resolveLimits } from '@azothdb/core/internal'
import type { EventLogKind } from './database-layout.js'
import { defaultLogger } from './default-logger.js'

/** Options of `Azoth.open`. */
export interface AzothOptions {
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
  /** Create the directory when it holds no database (default true). */
  readonly create?: boolean
  /** Size at which the file log starts a new segment (default 512 MiB). */
  readonly segmentBytes?: number
}

export interface ResolvedAzothOptions {
  readonly eventLog: EventLogKind | undefined
  readonly durability: Durability
  readonly stripes: number
  readonly lockTimeoutMs: number
  readonly clock: Clock
  readonly logger: Logger
  readonly limits: Limits
  readonly create: boolean
  readonly segmentBytes: number | undefined
}

const KNOWN = [
  'eventLog',
  'durability',
  'stripes',
  'lockTimeoutMs',
  'clock',
  'logger',
  'limits',
  'create',
  'segmentBytes',
] as const

/** Fills in defaults; a bad option raises `CONFIG` naming it. */
export function resolveOptions(options: AzothOptions = {}): ResolvedAzothOptions {
  checkKnownFields('Azoth.open', options, KNOWN)
  return {
    eventLog:
      options.eventLog === undefined
        ? undefined
        : checkOneOf('eventLog', options.eventLog, ['lmdb', 'file'] as const),
    durability: checkOneOf('durability', options.durability ?? 'sync', ['sync', 'relaxed'] as const),
    stripes: checkInteger('stripes', options.stripes ?? 16_384, 1, 1 << 20),
    lockTimeoutMs: checkInteger('lockTimeoutMs', options.lockTimeoutMs ?? 5000, 0),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? defaultLogger(),
    limits: resolveLimits(options.limits),
    create: options.create ?? true,
    segmentBytes:
      options.segmentBytes === undefined
        ? undefined
        : checkInteger('segmentBytes', options.segmentBytes, 4096),
  }
}
