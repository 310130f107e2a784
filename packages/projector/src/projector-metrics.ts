import type { EventId } from '@azoth/core'
import type { CircuitState } from './circuit-breaker.js'

/** Where a projector is in its life. */
export type ProjectorState = 'idle' | 'running' | 'stopped' | 'failed'

/** The last failure a projector met. */
export interface ProjectorErrorInfo {
  readonly message: string
  readonly code: string | undefined
  readonly eventId: EventId | undefined
  /** Clock milliseconds. */
  readonly at: number
}

/** Counters of a projector since it was made. */
export interface ProjectorMetrics {
  readonly name: string
  readonly state: ProjectorState
  /** The last applied event id (-1 before the cursor was first read). */
  readonly cursor: EventId
  readonly head: EventId
  /** Events committed to the source and not yet applied. */
  readonly lag: number
  /** Events the cursor moved past, whatever happened to them. */
  readonly eventsApplied: number
  readonly batches: number
  /** Batches that had to be re-applied event by event after a failure. */
  readonly slowBatches: number
  /** Handler failures, each attempt counted. */
  readonly errors: number
  readonly skipped: number
  readonly deadLettered: number
  readonly retries: number
  /** Events per second, smoothed over recent batches. */
  readonly eventsPerSecond: number
  readonly lastError: ProjectorErrorInfo | undefined
  readonly circuit: { readonly state: CircuitState; readonly opens: number } | undefined
  readonly replayer: { readonly replayed: number; readonly recovered: number; readonly gaveUp: number }
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
