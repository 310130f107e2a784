import type { ProjectorMetrics } from '@azothdb/projector'
import type { AzothMetrics } from './azoth-metrics.js'
import type { LatencySummary } from './latency-histogram.js'

type Labels = Readonly<Record<string, string>>
type Sample = readonly [labels: Labels, value: number]

/**
 * Writes Prometheus' text exposition format (version 0.0.4): one `# HELP` and `# TYPE` per family,
 * label values escaped. Families with no sample (no projector yet) are left out.
 */
class Exposition {
  readonly #lines: string[] = []

  family(name: string, type: 'counter' | 'gauge', help: string, samples: readonly Sample[]): void {
    if (samples.length === 0) return
    this.#header(name, type, help)
    for (const [labels, value] of samples) this.#sample(name, labels, value)
  }

  /** A histogram from cumulative millisecond buckets, exposed in seconds. */
  histogram(name: string, help: string, latency: LatencySummary): void {
    this.#header(name, 'histogram', help)
    for (const b of latency.buckets) this.#sample(`${name}_bucket`, { le: String(b.leMs / 1000) }, b.count)
    this.#sample(`${name}_bucket`, { le: '+Inf' }, latency.count)
    this.#sample(`${name}_sum`, {}, latency.totalMs / 1000)
    this.#sample(`${name}_count`, {}, latency.count)
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`
  }

  #header(name: string, type: string, help: string): void {
    this.#lines.push(`# HELP ${name} ${help.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}`)
    this.#lines.push(`# TYPE ${name} ${type}`)
  }

  #sample(name: string, labels: Labels, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    const rendered = Number.isNaN(value)
      ? 'NaN'
      : Number.isFinite(value)
        ? String(value)
        : value > 0
          ? '+Inf'
          : '-Inf'
    this.#lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${rendered}`)
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')
}

const CIRCUIT_STATES = ['closed', 'open', 'halfOpen'] as const
const PROJECTOR_STATES = ['idle', 'running', 'stopped', 'failed'] as const

/** Per projector counters and gauges: `azoth_projector_<suffix>{projector="name"}`. */
const PROJECTOR_FAMILIES: readonly (readonly [
  suffix: string,
  type: 'counter' | 'gauge',
  help: string,
  read: (p: ProjectorMetrics) => number,
])[] = [
  [
    'cursor',
    'gauge',
    'Id of the last event the projector applied (-1 before its first run).',
    (p) => p.cursor,
  ],
  ['lag_events', 'gauge', 'Committed events the projector has not applied yet.', (p) => p.lag],
  ['events_applied_total', 'counter', 'Events the projector moved its cursor past.', (p) => p.eventsApplied],
  ['batches_total', 'counter', 'Batches the projector committed.', (p) => p.batches],
  [
    'slow_batches_total',
    'counter',
    'Batches re-applied event by event after a failure.',
    (p) => p.slowBatches,
  ],
  ['errors_total', 'counter', 'Handler failures, each attempt counted.', (p) => p.errors],
  ['skipped_total', 'counter', 'Events the error strategy skipped.', (p) => p.skipped],
  ['dead_lettered_total', 'counter', 'Events parked in the dead-letter queue.', (p) => p.deadLettered],
  ['retries_total', 'counter', 'Retries made by the error strategy.', (p) => p.retries],
  ['handler_timeouts_total', 'counter', 'Handler calls abandoned after their timeout.', (p) => p.timeouts],
  [
    'events_per_second',
    'gauge',
    'Events applied per second, smoothed over recent batches.',
    (p) => p.eventsPerSecond,
  ],
  ['circuit_opens_total', 'counter', 'Times the circuit breaker opened.', (p) => p.circuit?.opens ?? 0],
  ['dead_letter_replays_total', 'counter', 'Dead-letter replays attempted.', (p) => p.replayer.replayed],
  [
    'dead_letters_recovered_total',
    'counter',
    'Dead-letter replays that applied.',
    (p) => p.replayer.recovered,
  ],
  ['dead_letters_given_up_total', 'counter', 'Dead letters made permanent.', (p) => p.replayer.gaveUp],
]

/**
 * `db.metrics({ format: 'prometheus' })`: the metrics as Prometheus text exposition, with the
 * `azoth_` prefix, `_total` counters, durations in seconds and one `projector` label per projector.
 */
export function toPrometheus(m: AzothMetrics): string {
  const out = new Exposition()
  const t = m.transactions
  const c = m.commits
  const one = (value: number): Sample[] => [[{}, value]]
  out.family('azoth_head_event_id', 'gauge', 'Id of the last committed event.', one(m.head))
  out.family(
    'azoth_transactions_committed_total',
    'counter',
    'Transactions acknowledged as committed.',
    one(t.committed),
  )
  out.family(
    'azoth_transactions_failed_total',
    'counter',
    'Transactions rejected, by any error.',
    one(t.failed),
  )
  out.family(
    'azoth_transaction_rejections_total',
    'counter',
    'Transaction rejections by error code (a subset of azoth_transactions_failed_total).',
    [
      [{ code: 'PREFLIGHT_FAILED' }, t.preflightFailures],
      [{ code: 'CONFLICT' }, t.conflicts],
      [{ code: 'LOCK_TIMEOUT' }, t.lockTimeouts],
      [{ code: 'UNDECLARED_KEY' }, t.undeclaredKeys],
    ],
  )
  out.family(
    'azoth_lock_waits_total',
    'counter',
    'Transactions that queued behind another holder of a lock stripe.',
    one(t.lockWaits),
  )
  out.histogram(
    'azoth_transaction_duration_seconds',
    'Transaction latency from execute to acknowledgement, preflight included.',
    t.latencyMs,
  )
  out.family(
    'azoth_commits_total',
    'counter',
    'Logical commits the writer made (transactions and write batches).',
    one(c.commits),
  )
  out.family(
    'azoth_commits_failed_total',
    'counter',
    'Logical commits whose function threw or whose group failed to write.',
    one(c.failedCommits),
  )
  out.family(
    'azoth_commit_groups_total',
    'counter',
    'Group commits: one disk transaction each.',
    one(c.groups),
  )
  out.family(
    'azoth_commit_group_size_max',
    'gauge',
    'The most logical commits one group commit has carried.',
    one(c.maxGroupSize),
  )
  out.family(
    'azoth_events_appended_total',
    'counter',
    'Events appended to the log since open.',
    one(c.eventsAppended),
  )
  out.family('azoth_dead_letters', 'gauge', 'Dead letters by status, over every projector.', [
    [{ status: 'pending' }, m.deadLetters.pending],
    [{ status: 'retrying' }, m.deadLetters.retrying],
    [{ status: 'permanent' }, m.deadLetters.permanent],
  ])
  out.family('azoth_subscriptions', 'gauge', 'Open subscribe() feeds.', one(m.subscriptions))
  const projectors = Object.values(m.projectors)
  out.family(
    'azoth_projector_state',
    'gauge',
    'Where each projector is in its life: 1 for its current state.',
    projectors.flatMap((p) =>
      PROJECTOR_STATES.map((s): Sample => [{ projector: p.name, state: s }, p.state === s ? 1 : 0]),
    ),
  )
  for (const [suffix, type, help, read] of PROJECTOR_FAMILIES) {
    out.family(
      `azoth_projector_${suffix}`,
      type,
      help,
      projectors.map((p): Sample => [{ projector: p.name }, read(p)]),
    )
  }
  out.family(
    'azoth_projector_circuit_state',
    'gauge',
    'The circuit breaker of each projector that has one: 1 for its current state.',
    projectors.flatMap((p) => {
      const circuit = p.circuit
      if (circuit === undefined) return []
      return CIRCUIT_STATES.map((s): Sample => [{ projector: p.name, state: s }, circuit.state === s ? 1 : 0])
    }),
  )
  return out.text()
}
