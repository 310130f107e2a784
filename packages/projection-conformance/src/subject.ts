import type { ProjectionStore, ProjectionTxControl } from '@azothdb/core'

/** One empty database for one test of the suite. */
export interface ConformanceDatabase<Tx extends ProjectionTxControl> {
  /**
   * Opens a store on this database. Called several times for one database: each call is another
   * instance (as another process would open it), used side by side for the concurrency checks.
   */
  open(): Promise<ProjectionStore<Tx>>
  /** Removes the database; called once every store the test opened is closed. */
  cleanup(): Promise<void>
}

/**
 * What the suite needs to know about a backend: how to make an empty database, and three
 * statements in its SQL dialect for the suite's table `conformance_balances (account TEXT PRIMARY
 * KEY, amount INTEGER NOT NULL, events INTEGER NOT NULL)`. The suite reads the table back with
 * `store.query('SELECT account, amount, events FROM conformance_balances ORDER BY account')`.
 */
export interface ProjectionStoreSubject<Tx extends ProjectionTxControl> {
  /** The backend's name, in test titles. */
  readonly name: string
  /** A new, empty database (no tables of the suite yet). */
  createDatabase(): Promise<ConformanceDatabase<Tx>>
  /** Creates `conformance_balances`. */
  createTable(tx: Tx): void | Promise<void>
  /** Adds `amount` to `account` (inserting it at `amount` when missing) and 1 to its `events`. */
  addToBalance(tx: Tx, account: string, amount: number): void | Promise<void>
  /** Deletes every row of `conformance_balances`. */
  clearTable(tx: Tx): void | Promise<void>
  /** Per-test timeout handed to the runner's `it`, for slow backends. Default 30,000 ms. */
  readonly timeoutMs?: number
}

/**
 * The test runner's two registration functions. Vitest's and Jest's `describe`/`it` fit as they are;
 * with `node:test`, pass `{ describe, it: (name, fn) => it(name, fn) }`. Assertions use
 * `node:assert`, so any runner that fails a test on a thrown error works.
 */
export interface ConformanceRunner {
  /** Groups the tests under a title. */
  describe(name: string, fn: () => void): void
  /** Registers one test; a rejection of `fn` fails it. */
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): void
}
