import {
  AzothError,
  ClosedError,
  type CommitOptions,
  type CommitResult,
  type Key,
  type Logger,
  type WriteFn,
} from '@azothdb/core'
import { type StripeLease, StripeLockManager } from '@azothdb/core/internal'
import type { LmdbStore } from '@azothdb/store-lmdb'
import { CommitMetrics, type TransactionMetrics } from './commit-metrics.js'
import type { CommittedState } from './preflight.js'
import { SlowCommitLog } from './slow-commit-log.js'
import type { TransactionHost } from './transaction-host.js'

/**
 * The one way into the database's writer: the guards every entry point calls (`checkOpen`,
 * `checkWritable`), the stripe locks of transactions and the counters of their commits. The
 * database, its transactions and its write batches all go through it, so a closed or read-only
 * database refuses every write the same way and every commit is counted once.
 */
export class WritePath implements TransactionHost {
  readonly state: CommittedState
  readonly #store: LmdbStore
  readonly #readOnly: boolean
  readonly #locks: StripeLockManager
  readonly #metrics = new CommitMetrics()
  readonly #slowCommits: SlowCommitLog
  #closed = false

  constructor(
    store: LmdbStore,
    readOnly: boolean,
    options: { stripes: number; lockTimeoutMs: number; slowCommitMs: number; logger: Logger },
  ) {
    this.state = store
    this.#store = store
    this.#readOnly = readOnly
    this.#locks = new StripeLockManager({ stripes: options.stripes, timeoutMs: options.lockTimeoutMs })
    this.#slowCommits = new SlowCommitLog(options.slowCommitMs, options.logger)
  }

  /** Raises `CLOSED` once the database's `close()` has begun. */
  checkOpen(): void {
    if (this.#closed) throw new ClosedError('the database')
  }

  /** Raises `CLOSED`, or `READ_ONLY` for a read-only database. */
  checkWritable(): void {
    this.checkOpen()
    if (this.#readOnly) throw new AzothError('READ_ONLY', 'the database is open read-only')
  }

  /** From now on every guard raises `CLOSED`. */
  close(): void {
    this.#closed = true
  }

  lock(exclusive: readonly Key[], shared: readonly Key[]): StripeLease | Promise<StripeLease> {
    return this.#locks.acquireOrWait(exclusive, shared)
  }

  /** The writer's commit, for a transaction that passed its guards and preflight. */
  commit<R>(fn: WriteFn<R>, options?: CommitOptions): Promise<CommitResult<R>> {
    return this.#store.commit(fn, options)
  }

  /** A guarded commit without preflight or locks (write batches); every failure is a rejection. */
  commitUnlocked<R>(fn: WriteFn<R>, options?: CommitOptions): Promise<CommitResult<R>> {
    try {
      this.checkWritable()
    } catch (e) {
      return Promise.reject(e)
    }
    return this.#store.commit(fn, options)
  }

  recordCommit(latencyMs: number): void {
    this.#metrics.recordCommit(latencyMs)
    this.#slowCommits.record(latencyMs)
  }

  recordFailure(error: unknown): void {
    this.#metrics.recordFailure(error)
  }

  /** Outcomes by code, lock waits and commit latency of the Transaction API. */
  metrics(): TransactionMetrics {
    return this.#metrics.snapshot(this.#locks.stats())
  }
}
