import type {
  Clock,
  EventFilterOptions,
  EventHandler,
  EventSource,
  Logger,
  ProjectionStore,
  ProjectionTxControl,
} from '@azothdb/core'
import type { BatchPolicy } from './batch-policy.js'
import type { CircuitBreakerOptions } from './circuit-breaker.js'
import type { DeadLetterQueueOptions } from './dead-letter-queue.js'
import type { ErrorStrategy } from './error-strategy.js'

/** Everything a projector needs, as one options object (the builder produces the same). */
export interface ProjectorOptions<Tx extends ProjectionTxControl> {
  /** Where events come from (the canonical store, or an event log). */
  readonly source: EventSource
  /** Where the projection tables, the cursor and the dead letters live. */
  readonly store: ProjectionStore<Tx>
  /** The cursor's key in the store: unique per projection. Default `'default'`. */
  readonly name?: string
  /**
   * The handlers that apply events; each sees the events of its `eventTypes`, in one transaction per batch.
   */
  readonly handlers: readonly EventHandler<Tx>[]
  /**
   * Only events of these streams, stream prefix (category) and types reach the handlers, judged on
   * the envelope's header: the others are never decoded, and the cursor moves past them as it does
   * past events no handler wants. Bad fields raise `CONFIG`.
   */
  readonly filter?: EventFilterOptions
  /** Default {@link ErrorStrategy.failFast}. */
  readonly errorStrategy?: ErrorStrategy
  /** Enables the automatic replayer of dead letters (and sets its backoff). */
  readonly deadLetterQueue?: DeadLetterQueueOptions
  /**
   * How many events (and bytes) go into one transaction, and how long a partial batch may wait; bad values
   * raise `CONFIG`.
   */
  readonly batch?: BatchPolicy
  /**
   * How long one asynchronous handler call (a promise from `handle`, `handleBatch` or `reset`) may stay
   * pending, in milliseconds of the projector's clock. Past it the call fails with `TIMEOUT`: its
   * transaction rolls back (later writes through its `tx` raise `CLOSED`), the call is abandoned and the
   * event meets the error strategy, so a stuck promise never holds the projection store, `stop()`, a
   * backup or `close()`. Synchronous handlers cannot be timed out. Default 30,000; 1..2,147,483,647.
   */
  readonly handlerTimeoutMs?: number
  /** Fallback poll of the source in continuous mode, for writers in other processes. Default 1,000 ms. */
  readonly pollIntervalMs?: number
  /** Pauses the projector after repeated failures (e.g. a downstream outage); off when omitted. */
  readonly circuitBreaker?: CircuitBreakerOptions
  /** Every wait (retry backoff, replayer, circuit breaker, batch latency, polling) uses it. */
  readonly clock?: Clock
  /** Where skipped, dead-lettered and failed events are logged (default: silent). A pino logger fits. */
  readonly logger?: Logger
}

/** The fields {@link ProjectorOptions} knows: anything else is a typo, refused with `CONFIG`. */
export const PROJECTOR_OPTION_FIELDS: readonly string[] = [
  'source',
  'store',
  'name',
  'handlers',
  'filter',
  'errorStrategy',
  'deadLetterQueue',
  'batch',
  'pollIntervalMs',
  'handlerTimeoutMs',
  'circuitBreaker',
  'clock',
  'logger',
]
