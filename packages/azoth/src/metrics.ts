import type { CommitStats } from '@azoth/core'
import type { ProjectorMetrics } from '@azoth/projector'
import type { TransactionMetrics } from './commit-metrics.js'

/** What `db.metrics()` reports. */
export interface AzothMetrics {
  readonly head: number
  /** The Transaction API: outcomes by error code, lock waits, commit latency percentiles. */
  readonly transactions: TransactionMetrics
  /** The writer: logical commits, group commits and their sizes, events appended. */
  readonly commits: CommitStats
  /** Per projector: cursor, lag, throughput, errors, last error, circuit state. */
  readonly projectors: Readonly<Record<string, ProjectorMetrics>>
  /** Dead letters by status, over every projector. */
  readonly deadLetters: { readonly pending: number; readonly retrying: number; readonly permanent: number }
  readonly subscriptions: number
}
