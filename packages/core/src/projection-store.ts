import type { EventId } from './ids.js'

/** Lifecycle of a dead letter. */
export type DeadLetterStatus = 'pending' | 'retrying' | 'permanent'

/** An event a projector could not apply, parked for later. */
export interface DeadLetter {
  readonly id: number
  readonly projector: string
  readonly eventId: EventId
  readonly eventType: string
  /** The event's envelope bytes, so it can be re-applied without the event log. */
  readonly envelope: Uint8Array
  readonly errorMessage: string
  readonly errorStack: string | undefined
  readonly attempts: number
  readonly firstFailedAt: number
  readonly lastFailedAt: number
  /** When the automatic replayer should next try, in clock milliseconds. */
  readonly nextRetryAt: number | undefined
  readonly status: DeadLetterStatus
}

/** What a projector records when an event fails. */
export interface NewDeadLetter {
  readonly projector: string
  readonly eventId: EventId
  readonly eventType: string
  readonly envelope: Uint8Array
  readonly error: Error
  readonly attempts: number
  readonly failedAt: number
  readonly nextRetryAt?: number | undefined
}

/** Filters for listing dead letters. */
export interface DeadLetterQuery {
  readonly projector?: string
  readonly status?: DeadLetterStatus
  readonly limit?: number
  /** Only rows whose `nextRetryAt` is at or before this time. */
  readonly dueBy?: number
}

/**
 * The part of a projection transaction the projector itself uses; a backend's handlers see the
 * backend's own transaction type (`Tx`), which extends this.
 */
export interface ProjectionTxControl {
  /** Runs `fn` in a nested savepoint: if it throws, only its writes are rolled back, then it rethrows. */
  savepoint<R>(fn: () => R): R
  /** Sets a projector's cursor; committed together with everything else in the transaction. */
  setCursor(projector: string, id: EventId): void
  addDeadLetter(entry: NewDeadLetter): void
}

/**
 * Where projections live: read-model tables, projector cursors and dead letters, in one
 * transactional store. Implemented by `@azoth/projection-sqlite`; shaped so an async backend such
 * as PostgreSQL can implement it too.
 */
export interface ProjectionStore<Tx extends ProjectionTxControl = ProjectionTxControl> {
  readonly backend: string
  /** The last event id a projector applied, 0 when none. */
  getCursor(projector: string): EventId
  /** Runs `fn` as one write transaction, committed when it settles normally, rolled back when it throws. */
  transaction<R>(fn: (tx: Tx) => R | Promise<R>): Promise<R>
  readonly deadLetters: DeadLetterStore
  close(): Promise<void>
}

/** Dead-letter rows of a projection store. */
export interface DeadLetterStore {
  list(query?: DeadLetterQuery): DeadLetter[]
  get(id: number): DeadLetter | undefined
  count(query?: Omit<DeadLetterQuery, 'limit'>): number
  /** Deletes a row; false when it did not exist. */
  remove(id: number): boolean
  /** Marks a row for the replayer to try again now (status back to `pending`, due now). */
  markRetry(id: number): boolean
  /** Records another failed attempt, with the next due time or `permanent`. */
  recordAttempt(id: number, error: Error, at: number, next: { nextRetryAt: number } | 'permanent'): void
}
