import type { CommitStats } from '@azothdb/core'
import type { ProjectorMetrics } from '@azothdb/projector'
import type { TransactionMetrics } from './commit-metrics.js'

/** What `db.metrics()` reports. */
export interface AzothMetrics {
  /** The id of the last committed event. */
  readonly head: number
  /** The Transaction API: outcomes by error code, lock waits, commit latency percentiles. */
  readonly transactions: TransactionMetrics
  /** The writer: logical commits, group commits and their sizes, events appended. */
  readonly commits: CommitStats
  /** Per projector: cursor, lag, throughput, errors, last error, circuit state. */
  readonly projectors: Readonly<Record<string, ProjectorMetrics>>
  /** Dead letters by status, over every projector. */
  readonly deadLetters: {
    /** Parked, waiting for their first replay. */
    readonly pending: number
    /** Replayed at least once, waiting for the next attempt. */
    readonly retrying: number
    /** Gave up: only a manual `retry` or `markRetry` brings them back. */
    readonly permanent: number
  }
  /** Open `subscribe()` feeds. */
  readonly subscriptions: number
}
