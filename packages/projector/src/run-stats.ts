import type { EventId } from '@azothdb/core'

/** Options of one `Projector.runOnce`. */
export interface RunOnceOptions {
  /** Stops between batches (and interrupts retry waits) when aborted. */
  readonly signal?: AbortSignal
  /** Called after each committed batch. */
  readonly onProgress?: (progress: RunProgress) => void
}

/** Where a run is. */
export interface RunProgress {
  /** The cursor after the batch just committed. */
  readonly cursor: EventId
  /** The head (or seal) this run goes to. */
  readonly target: EventId
  /** Events the cursor has moved past so far in this run. */
  readonly events: number
}

/** Why a run returned. */
export type RunStopReason = 'caughtUp' | 'circuitOpen' | 'aborted'

/** What one run did. */
export interface RunStats {
  /** The cursor before and after. */
  readonly from: EventId
  /** The cursor after the run. */
  readonly cursor: EventId
  /** The head (or seal) the run aimed at; `cursor < target` unless it `caughtUp`. */
  readonly target: EventId
  /** Events the cursor moved past. */
  readonly events: number
  /** Batches committed. */
  readonly batches: number
  /** Events the error strategy skipped. */
  readonly skipped: number
  /** Events parked in the dead-letter queue. */
  readonly deadLettered: number
  /** Retries made. */
  readonly retries: number
  /** Why the run returned: it reached `target`, the circuit opened, or it was aborted. */
  readonly stoppedBy: RunStopReason
}

/** @internal what one run has done so far. */
export interface RunCounters {
  events: number
  batches: number
  skipped: number
  deadLettered: number
  retries: number
}
