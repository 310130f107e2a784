import type { EventId } from '@azothdb/core'
import type { CircuitBreaker, CircuitState } from './circuit-breaker.js'

/** Where a projector is in its life. */
export type ProjectorState = 'idle' | 'running' | 'stopped' | 'failed'

/** The last failure a projector met. */
export interface ProjectorErrorInfo {
  /** The error's message. */
  readonly message: string
  /** The `AzothError` code, or undefined for other errors (e.g. a handler's own). */
  readonly code: string | undefined
  /** The event being applied when it failed, if any. */
  readonly eventId: EventId | undefined
  /** Clock milliseconds. */
  readonly at: number
}

/** Counters of a projector since it was made. */
export interface ProjectorMetrics {
  /** The projector's name. */
  readonly name: string
  /** Where the projector is in its life; `'failed'` means it stopped on an error (see `lastError`). */
  readonly state: ProjectorState
  /** The last applied event id (-1 before the cursor was first read). */
  readonly cursor: EventId
  /** The source's head when the metrics were taken. */
  readonly head: EventId
  /** Events committed to the source and not yet applied. */
  readonly lag: number
  /** Events the cursor moved past, whatever happened to them. */
  readonly eventsApplied: number
  /** Batches committed. */
  readonly batches: number
  /** Batches that had to be re-applied event by event after a failure. */
  readonly slowBatches: number
  /** Handler failures, each attempt counted. */
  readonly errors: number
  /** Events passed over by the error strategy (`skip`). */
  readonly skipped: number
  /** Events parked in the dead-letter queue. */
  readonly deadLettered: number
  /** Retries made by `retryWithBackoff` (or a custom `retry` decision). */
  readonly retries: number
  /** Handler calls abandoned after `handlerTimeoutMs` (each is also counted in `errors`). */
  readonly timeouts: number
  /** Events per second, smoothed over recent batches. */
  readonly eventsPerSecond: number
  /** The last failure, or undefined when there was none. */
  readonly lastError: ProjectorErrorInfo | undefined
  /** The circuit breaker's state, or undefined when none is configured. */
  readonly circuit:
    | {
        /** `closed`, `open` or `halfOpen`; see {@link CircuitState}. */
        readonly state: CircuitState
        /** How many times the circuit has opened. */
        readonly opens: number
      }
    | undefined
  /** Counters of dead-letter replays (automatic and manual). */
  readonly replayer: {
    /** Dead-letter replays attempted. */
    readonly replayed: number
    /** Replays that applied, removing the dead letter. */
    readonly recovered: number
    /** Dead letters made `permanent` after their last allowed attempt. */
    readonly gaveUp: number
  }
}

/** @internal the mutable counters behind {@link ProjectorMetrics}. */
export class MetricsCounters {
  eventsApplied = 0
  batches = 0
  slowBatches = 0
  errors = 0
  skipped = 0
  deadLettered = 0
  retries = 0
  timeouts = 0
  eventsPerSecond = 0
  replayed = 0
  recovered = 0
  gaveUp = 0
  lastError: ProjectorErrorInfo | undefined

  /** Folds one batch into the smoothed rate. */
  recordBatch(events: number, elapsedMs: number): void {
    this.batches++
    this.eventsApplied += events
    if (elapsedMs <= 0) return
    const rate = (events * 1000) / elapsedMs
    this.eventsPerSecond = this.eventsPerSecond === 0 ? rate : this.eventsPerSecond * 0.8 + rate * 0.2
  }
}

/** @internal A projector's metrics at this moment, `head` being what its runs go to (the seal, if any). */
export function snapshotMetrics(
  name: string,
  state: ProjectorState,
  cursor: EventId,
  head: EventId,
  c: MetricsCounters,
  breaker: CircuitBreaker | undefined,
): ProjectorMetrics {
  return {
    name,
    state,
    cursor,
    head,
    lag: cursor < 0 ? head : Math.max(0, head - cursor),
    eventsApplied: c.eventsApplied,
    batches: c.batches,
    slowBatches: c.slowBatches,
    errors: c.errors,
    skipped: c.skipped,
    deadLettered: c.deadLettered,
    retries: c.retries,
    timeouts: c.timeouts,
    eventsPerSecond: c.eventsPerSecond,
    lastError: c.lastError,
    circuit: breaker === undefined ? undefined : { state: breaker.state, opens: breaker.opens },
    replayer: { replayed: c.replayed, recovered: c.recovered, gaveUp: c.gaveUp },
  }
}
