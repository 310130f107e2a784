import type { CommitStats, DeadLetterStatus } from '@azothdb/core'
import { checkArgumentFields, type Rule } from '@azothdb/core/internal'
import type { ProjectorMetrics } from '@azothdb/projector'
import type { AzothMetrics } from './azoth-metrics.js'
import type { TransactionMetrics } from './commit-metrics.js'
import { toPrometheus } from './prometheus-exposition.js'

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

/** What `db.metrics()` reads besides the Transaction API's counters. */
export interface MetricsSources {
  readonly store: { head(): number; commitStats(): CommitStats }
  readonly projection: { metrics(): Readonly<Record<string, ProjectorMetrics>> }
  readonly deadLetters: { count(query: { status: DeadLetterStatus }): Promise<number> }
  readonly subscriptions: { readonly size: number }
}

/**
 * `db.metrics(options)`: the writer's counters, the Transaction API's, each projector's and the
 * dead-letter counts by status, read at one call, as an object or as Prometheus text.
 */
export async function readMetrics(
  sources: MetricsSources,
  transactions: TransactionMetrics,
  options: MetricsOptions | undefined,
): Promise<AzothMetrics | string> {
  const format = metricsFormat(options)
  const { store, deadLetters } = sources
  const metrics: AzothMetrics = {
    head: store.head(),
    transactions,
    commits: store.commitStats(),
    projectors: sources.projection.metrics(),
    deadLetters: {
      pending: await deadLetters.count({ status: 'pending' }),
      retrying: await deadLetters.count({ status: 'retrying' }),
      permanent: await deadLetters.count({ status: 'permanent' }),
    },
    subscriptions: sources.subscriptions.size,
  }
  return format === 'prometheus' ? toPrometheus(metrics) : metrics
}
