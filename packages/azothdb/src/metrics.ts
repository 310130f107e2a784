import type { CommitStats, DeadLetterStatus } from '@azothdb/core'
import { checkArgumentFields, type Rule } from '@azothdb/core/internal'
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

/** Options of `db.metrics(options)`. */
export interface MetricsOptions {
  /**
   * `'object'` (default): an {@link AzothMetrics} object. `'prometheus'`: the same figures as
   * Prometheus text exposition (version 0.0.4), ready to serve on a `/metrics` endpoint.
   */
  readonly format?: 'object' | 'prometheus'
}

const FORMAT: Rule<'object' | 'prometheus'> = {
  expected: "'object' or 'prometheus'",
  test: (v): v is 'object' | 'prometheus' => v === 'object' || v === 'prometheus',
}

/** The format `options` asks for; unknown fields or formats are `INVALID_ARGUMENT`. */
export function metricsFormat(options: MetricsOptions | undefined): 'object' | 'prometheus' {
  checkArgumentFields('options', options, { format: FORMAT })
  return options?.format ?? 'object'
}

/**
 * Assembles `db.metrics()`: the writer's counters, the Transaction API's, each projector's and the
 * dead-letter counts by status, read at one call.
 */
export async function collectMetrics(
  store: { head(): number; commitStats(): CommitStats },
  transactions: TransactionMetrics,
  projectors: Readonly<Record<string, ProjectorMetrics>>,
  deadLetters: { count(query: { status: DeadLetterStatus }): Promise<number> },
  subscriptions: number,
): Promise<AzothMetrics> {
  return {
    head: store.head(),
    transactions,
    commits: store.commitStats(),
    projectors,
    deadLetters: {
      pending: await deadLetters.count({ status: 'pending' }),
      retrying: await deadLetters.count({ status: 'retrying' }),
      permanent: await deadLetters.count({ status: 'permanent' }),
    },
    subscriptions,
  }
}
