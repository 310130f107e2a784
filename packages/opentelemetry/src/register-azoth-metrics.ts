import type {
  Attributes,
  BatchObservableResult,
  Meter,
  Observable,
  ObservableCounter,
  ObservableGauge,
} from '@opentelemetry/api'
import { type Azoth, AzothError, type AzothMetrics, isAzothError, type ProjectorMetrics } from 'azothdb'

/** Options of {@link registerAzothMetrics}. */
export interface AzothMetricsOptions {
  /**
   * Attributes added to every measurement, to tell several databases of one process apart
   * (for example `{ 'azoth.database': 'orders' }`). Default: none.
   */
  readonly attributes?: Attributes
}

type Kind = 'counter' | 'gauge'
type Instrument = ObservableCounter | ObservableGauge

/** One instrument read from the database's metrics: name, kind, unit, description, and its values. */
interface Spec<T> {
  readonly name: string
  readonly kind: Kind
  readonly unit: string
  readonly description: string
  readonly read: (source: T) => readonly (readonly [value: number, attributes?: Attributes])[]
}

const one =
  (read: (m: AzothMetrics) => number) =>
  (m: AzothMetrics): [number][] => [[read(m)]]

const DATABASE: readonly Spec<AzothMetrics>[] = [
  {
    name: 'azoth.head',
    kind: 'gauge',
    unit: '{event}',
    description: 'Id of the last committed event.',
    read: one((m) => m.head),
  },
  {
    name: 'azoth.transactions.committed',
    kind: 'counter',
    unit: '{transaction}',
    description: 'Transactions acknowledged as committed.',
    read: one((m) => m.transactions.committed),
  },
  {
    name: 'azoth.transactions.failed',
    kind: 'counter',
    unit: '{transaction}',
    description: 'Transactions rejected, by any error.',
    read: one((m) => m.transactions.failed),
  },
  {
    name: 'azoth.transactions.rejected',
    kind: 'counter',
    unit: '{transaction}',
    description: 'Transaction rejections by error code (a subset of azoth.transactions.failed).',
    read: ({ transactions: t }) => [
      [t.preflightFailures, { 'error.code': 'PREFLIGHT_FAILED' }],
      [t.conflicts, { 'error.code': 'CONFLICT' }],
      [t.lockTimeouts, { 'error.code': 'LOCK_TIMEOUT' }],
      [t.undeclaredKeys, { 'error.code': 'UNDECLARED_KEY' }],
    ],
  },
  {
    name: 'azoth.transaction.duration',
    kind: 'gauge',
    unit: 's',
    description: 'Transaction latency percentiles since open, from execute to acknowledgement.',
    read: ({ transactions: { latencyMs: l } }) => [
      [l.p50 / 1000, { quantile: 0.5 }],
      [l.p90 / 1000, { quantile: 0.9 }],
      [l.p99 / 1000, { quantile: 0.99 }],
      [l.max / 1000, { quantile: 1 }],
    ],
  },
  {
    name: 'azoth.lock.waits',
    kind: 'counter',
    unit: '{transaction}',
    description: 'Transactions that queued behind another holder of a lock stripe.',
    read: one((m) => m.transactions.lockWaits),
  },
  {
    name: 'azoth.commits',
    kind: 'counter',
    unit: '{commit}',
    description: 'Logical commits the writer made (transactions and write batches).',
    read: one((m) => m.commits.commits),
  },
  {
    name: 'azoth.commit.groups',
    kind: 'counter',
    unit: '{group}',
    description: 'Group commits: one disk transaction each.',
    read: one((m) => m.commits.groups),
  },
  {
    name: 'azoth.events.appended',
    kind: 'counter',
    unit: '{event}',
    description: 'Events appended to the log since open.',
    read: one((m) => m.commits.eventsAppended),
  },
  {
    name: 'azoth.dead_letters',
    kind: 'gauge',
    unit: '{event}',
    description: 'Dead letters by status, over every projector.',
    read: ({ deadLetters: d }) => [
      [d.pending, { status: 'pending' }],
      [d.retrying, { status: 'retrying' }],
      [d.permanent, { status: 'permanent' }],
    ],
  },
  {
    name: 'azoth.subscriptions',
    kind: 'gauge',
    unit: '{subscription}',
    description: 'Open subscribe() feeds.',
    read: one((m) => m.subscriptions),
  },
]

const per =
  (read: (p: ProjectorMetrics) => number) =>
  (p: ProjectorMetrics): [number][] => [[read(p)]]

/** Read once per projector, with its name as the `azoth.projector` attribute. */
const PROJECTOR: readonly Spec<ProjectorMetrics>[] = [
  {
    name: 'azoth.projector.cursor',
    kind: 'gauge',
    unit: '{event}',
    description: 'Id of the last event the projector applied.',
    read: per((p) => p.cursor),
  },
  {
    name: 'azoth.projector.lag',
    kind: 'gauge',
    unit: '{event}',
    description: 'Committed events the projector has not applied yet.',
    read: per((p) => p.lag),
  },
  {
    name: 'azoth.projector.events.applied',
    kind: 'counter',
    unit: '{event}',
    description: 'Events the projector moved its cursor past.',
    read: per((p) => p.eventsApplied),
  },
  {
    name: 'azoth.projector.throughput',
    kind: 'gauge',
    unit: '{event}/s',
    description: 'Events applied per second, smoothed over recent batches.',
    read: per((p) => p.eventsPerSecond),
  },
  {
    name: 'azoth.projector.errors',
    kind: 'counter',
    unit: '{error}',
    description: 'Handler failures, each attempt counted.',
    read: per((p) => p.errors),
  },
  {
    name: 'azoth.projector.events.skipped',
    kind: 'counter',
    unit: '{event}',
    description: 'Events the error strategy skipped.',
    read: per((p) => p.skipped),
  },
  {
    name: 'azoth.projector.events.dead_lettered',
    kind: 'counter',
    unit: '{event}',
    description: 'Events parked in the dead-letter queue.',
    read: per((p) => p.deadLettered),
  },
  {
    name: 'azoth.projector.retries',
    kind: 'counter',
    unit: '{retry}',
    description: 'Retries made by the error strategy.',
    read: per((p) => p.retries),
  },
  {
    name: 'azoth.projector.handler.timeouts',
    kind: 'counter',
    unit: '{call}',
    description: 'Handler calls abandoned after their timeout.',
    read: per((p) => p.timeouts),
  },
  {
    name: 'azoth.projector.circuit.opens',
    kind: 'counter',
    unit: '{open}',
    description: 'Times the circuit breaker opened.',
    read: per((p) => p.circuit?.opens ?? 0),
  },
  {
    name: 'azoth.projector.circuit.open',
    kind: 'gauge',
    unit: '1',
    description: '1 while the circuit breaker is open or half-open, else 0.',
    read: per((p) => (p.circuit === undefined || p.circuit.state === 'closed' ? 0 : 1)),
  },
]

function create(meter: Meter, spec: Spec<unknown>): Instrument {
  const options = { unit: spec.unit, description: spec.description }
  return spec.kind === 'counter'
    ? meter.createObservableCounter(spec.name, options)
    : meter.createObservableGauge(spec.name, options)
}

/**
 * Registers observable instruments on `meter` that read `db.metrics()` once per collection:
 * counters (`azoth.transactions.committed`, `azoth.events.appended`, ...), gauges (`azoth.head`,
 * `azoth.projector.lag`, ...), per projector with the `azoth.projector` attribute. Returns the
 * function that unregisters them (call it before or after closing the database; once the
 * database is closed, collections simply see no Azoth measurements).
 *
 * @example
 * const meter = metrics.getMeter('my-service')
 * const unregister = registerAzothMetrics(db, meter)
 * // ... on shutdown:
 * unregister()
 */
export function registerAzothMetrics(
  db: Pick<Azoth, 'metrics'>,
  meter: Meter,
  options: AzothMetricsOptions = {},
): () => void {
  if (db === null || typeof db !== 'object' || typeof db.metrics !== 'function') {
    throw new AzothError(
      'INVALID_ARGUMENT',
      'registerAzothMetrics needs an Azoth database (with metrics())',
      {
        details: { argument: 'db' },
      },
    )
  }
  if (meter === null || typeof meter !== 'object' || typeof meter.addBatchObservableCallback !== 'function') {
    throw new AzothError('INVALID_ARGUMENT', 'registerAzothMetrics needs an OpenTelemetry Meter', {
      details: { argument: 'meter' },
    })
  }
  if (
    options === null ||
    typeof options !== 'object' ||
    Object.keys(options).some((k) => k !== 'attributes')
  ) {
    throw new AzothError('INVALID_ARGUMENT', "registerAzothMetrics options take 'attributes' only", {
      details: { argument: 'options' },
    })
  }
  const base: Attributes = { ...options.attributes }
  const database = DATABASE.map((spec) => [spec, create(meter, spec as Spec<unknown>)] as const)
  const projector = PROJECTOR.map((spec) => [spec, create(meter, spec as Spec<unknown>)] as const)
  const observables: Observable[] = [...database, ...projector].map(([, instrument]) => instrument)
  const callback = async (result: BatchObservableResult): Promise<void> => {
    let m: AzothMetrics
    try {
      m = await db.metrics()
    } catch (e) {
      // A closed database has nothing to report; any other failure is the SDK's to record.
      if (isAzothError(e, 'CLOSED')) return
      throw e
    }
    for (const [spec, instrument] of database) {
      for (const [value, attributes] of spec.read(m))
        result.observe(instrument, value, { ...base, ...attributes })
    }
    for (const p of Object.values(m.projectors)) {
      const attributes = { ...base, 'azoth.projector': p.name }
      for (const [spec, instrument] of projector) {
        for (const [value] of spec.read(p)) result.observe(instrument, value, attributes)
      }
    }
  }
  meter.addBatchObservableCallback(callback, observables)
  return () => meter.removeBatchObservableCallback(callback, observables)
}
