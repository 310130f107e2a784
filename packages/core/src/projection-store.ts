import type { EventId } from './ids.js'

/**
 * Lifecycle of a dead letter: `pending` waits for its first replay, `retrying` has failed at least
 * one replay and will be tried again, `permanent` was given up (only a manual retry moves it).
 */
export type DeadLetterStatus = 'pending' | 'retrying' | 'permanent'

/** An event a projector could not apply, parked for later. */
export interface DeadLetter {
  /** The row's id in the dead-letter table; pass it to `get`, `remove` or `markRetry`. */
  readonly id: number
  /** Name of the projector that failed. */
  readonly projector: string
  /** Id of the event that failed. */
  readonly eventId: EventId
  /** Type of the event that failed. */
  readonly eventType: string
  /** The event's envelope bytes, so it can be re-applied without the event log. */
  readonly envelope: Uint8Array
  /** The message of the last error. */
  readonly errorMessage: string
  /** The stack of the last error, when it had one. */
  readonly errorStack: string | undefined
  /** Failed attempts so far, the first application included. */
  readonly attempts: number
  /** When the event first failed, in clock milliseconds. */
  readonly firstFailedAt: number
  /** When the latest attempt failed, in clock milliseconds. */
  readonly lastFailedAt: number
  /** When the automatic replayer should next try, in clock milliseconds. */
  readonly nextRetryAt: number | undefined
  /** Where the row is in its lifecycle; see {@link DeadLetterStatus}. */
  readonly status: DeadLetterStatus
}

/** What a projector records when an event fails. */
export interface NewDeadLetter {
  /** Name of the projector that failed. */
  readonly projector: string
  /** Id of the event that failed. */
  readonly eventId: EventId
  /** Type of the event that failed. */
  readonly eventType: string
  /** The event's envelope bytes, kept so the replay does not need the event log. */
  readonly envelope: Uint8Array
  /** The error the handler threw; its message and stack are stored. */
  readonly error: Error
  /** Attempts made so far (retries included). */
  readonly attempts: number
  /** When the last attempt failed, in clock milliseconds. */
  readonly failedAt: number
  /** When the automatic replayer should first try it; undefined to leave it to a manual retry. */
  readonly nextRetryAt?: number | undefined
}

/** Filters for listing dead letters. */
export interface DeadLetterQuery {
  /** Only rows of this projector. */
  readonly projector?: string
  /** Only rows in this status. */
  readonly status?: DeadLetterStatus
  /** Return at most this many rows (oldest first). */
  readonly limit?: number
  /** Only rows whose `nextRetryAt` is at or before this time (rows without one are left out). */
  readonly dueBy?: number
}

/**
 * The part of a projection transaction the projector itself uses; a backend's handlers see the
 * backend's own transaction type (`Tx`), which extends this. Methods may return a promise on an
 * asynchronous backend (PostgreSQL); the SQLite backend returns plain values.
 */
export interface ProjectionTxControl {
  /**
   * Runs `fn` in a nested savepoint: if it throws (or the promise it returns rejects), only its
   * writes are rolled back, then the error is rethrown.
   */
  savepoint<R>(fn: () => R): R
  /**
   * A projector's cursor as this transaction sees it: the projector checks it before each batch,
   * so two projector instances of one name never apply the same events twice.
   */
  getCursor(projector: string): EventId | Promise<EventId>
  /** Sets a projector's cursor; committed together with everything else in the transaction. */
  setCursor(projector: string, id: EventId): void | Promise<void>
  /** Parks a failed event; committed together with the cursor that passes it. */
  addDeadLetter(entry: NewDeadLetter): void | Promise<void>
  /** Deletes a dead letter inside this transaction (a successful replay); false when absent. */
  removeDeadLetter(id: number): boolean | Promise<boolean>
  /** Deletes every dead letter of a projector (a rebuild starts clean); returns how many. */
  clearDeadLetters(projector: string): number | Promise<number>
}

/** What a projection backup wrote. */
export interface ProjectionBackupInfo {
  /** Absolute paths of the files written. */
  readonly files: readonly string[]
  /** Every projector's cursor in the copy. */
  readonly cursors: Readonly<Record<string, EventId>>
}

/**
 * Where projections live: read-model tables, projector cursors and dead letters, in one
 * transactional store. Implemented by `@azothdb/projection-sqlite` and `@azothdb/projection-postgres`. Every method outside a
 * transaction is asynchronous so that a networked backend such as PostgreSQL can implement it.
 */
export interface ProjectionStore<Tx extends ProjectionTxControl = ProjectionTxControl> {
  /** The backend's name, for manifests and logs (`'sqlite'`). */
  readonly backend: string
  /** The last event id a projector applied, 0 when none. */
  getCursor(projector: string): Promise<EventId>
  /** Every projector's cursor. */
  cursors(): Promise<Record<string, EventId>>
  /**
   * Runs `fn` as one write transaction, committed when it returns (or its promise resolves),
   * rolled back when it throws. Transactions of one store run one at a time.
   */
  transaction<R>(fn: (tx: Tx) => R | Promise<R>): Promise<R>
  /** Rows for a read query (placeholders in the backend's own syntax), from a reader connection. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[] | Readonly<Record<string, unknown>>,
  ): Promise<Row[]>
  /** A consistent copy of the whole store into `target` while writers go on. */
  backup(target: string): Promise<ProjectionBackupInfo>
  /** The store's dead-letter rows: inspect, retry or remove events projectors could not apply. */
  readonly deadLetters: DeadLetterStore
  /**
   * Checks the store's own structure (SQLite: `quick_check`, every page and record) while writers
   * go on: what is damaged, in the backend's words; empty when nothing is. Optional: a backend
   * that has no such check (a server that checks itself) leaves it out.
   */
  checkIntegrity?(): Promise<readonly string[]>
  /** Waits for the running transaction and closes every connection; later calls reject with `CLOSED`. */
  close(): Promise<void>
}

/** Dead-letter rows of a projection store. */
export interface DeadLetterStore {
  /** Rows matching `query`, in id order (oldest first). */
  list(query?: DeadLetterQuery): Promise<DeadLetter[]>
  /** One row by id, or undefined when it does not exist (e.g. replayed and removed). */
  get(id: number): Promise<DeadLetter | undefined>
  /** How many rows match `query`; cheap enough for a health check. */
  count(query?: Omit<DeadLetterQuery, 'limit'>): Promise<number>
  /** Deletes a row; false when it did not exist. */
  remove(id: number): Promise<boolean>
  /** Marks a row for the replayer to try again from `at` (status back to `pending`). */
  markRetry(id: number, at: number): Promise<boolean>
  /** Records another failed attempt, with the next due time or `permanent`. */
  recordAttempt(
    id: number,
    error: Error,
    at: number,
    next: { readonly nextRetryAt: number } | 'permanent',
  ): Promise<void>
}
