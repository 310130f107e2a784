import type { EventId } from '@azoth/core'

/** Options of one `EventProcessor.runOnce`. */
export interface RunOnceOptions {
  /** Stops between batches (and interrupts retry waits) when aborted. */
  readonly signal?: AbortSignal
  /** Called after each committed batch. */
  readonly onProgress?: (progress: RunProgress) => void
}

/** Where a run is. */
export interface RunProgress {
  readonly cursor: EventId
  /** The head (or seal) this run goes to. */
  readonly target: EventId
  readonly events: number
}

/** Why a run returned. */
export type RunStopReason = 'caughtUp' | 'circuitOpen' | 'aborted'

/** What one run did. */
export interface RunStats {
  /** The cursor before and after. */
  readonly from: EventId
  readonly cursor: EventId
  readonly target: EventId
  /** Events the cursor moved past. */
  readonly events: number
  readonly batches: number
  readonly skipped: number
  readonly deadLettered: number
  readonly retries: number
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
