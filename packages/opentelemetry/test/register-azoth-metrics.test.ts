import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerAzothMetrics } from '@azothdb/opentelemetry'
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { Azoth, type AzothEvent, ErrorStrategy, isAzothError, silentLogger } from 'azothdb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
let provider: MeterProvider
let exporter: InMemoryMetricExporter
let reader: PeriodicExportingMetricReader

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-otel-'))
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  // Exports only when the test flushes it.
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 2_147_483_647 })
  provider = new MeterProvider({ readers: [reader] })
})

afterEach(async () => {
  await provider.shutdown()
  rmSync(dir, { recursive: true, force: true })
})

/** Every metric of the latest collection, by name. */
async function collect(): Promise<Map<string, MetricData>> {
  exporter.reset()
  await reader.forceFlush()
  const scopes = exporter.getMetrics().at(-1)?.scopeMetrics ?? []
  return new Map(scopes.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]))
}

/** The value of `name` at the data point whose attributes include `attributes`. */
function point(
  metrics: Map<string, MetricData>,
  name: string,
  attributes: Record<string, unknown> = {},
): number {
  const metric = metrics.get(name)
  if (metric === undefined) throw new Error(`no metric ${name} among ${[...metrics.keys()].join(', ')}`)
  const points = metric.dataPoints.filter((p) =>
    Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  )
  if (points.length !== 1)
    throw new Error(`${points.length} points of ${name} match ${JSON.stringify(attributes)}`)
  return points[0]!.value as number
}

async function busyDatabase(): Promise<Azoth> {
  const db = await Azoth.open(dir, { logger: silentLogger })
  for (let i = 0; i < 12; i++) {
    await db
      .transaction()
      .keys(['n'])
      .execute((tx) => {
        tx.set('n', BigInt(i))
        tx.log('counted', { i })
      })
  }
  await db
    .projector({
      name: 'parking',
      errorStrategy: ErrorStrategy.deadLetter(),
      handlers: [
        {
          eventTypes: '*',
          handle: (e: AzothEvent) => {
            if (e.id === 3) throw new Error('three is refused')
          },
        },
      ],
    })
    .runOnce()
  return db
}

describe('registerAzothMetrics', () => {
  it('reports db.metrics() through observable instruments, per projector by attribute', async () => {
    await using db = await busyDatabase()
    const unregister = registerAzothMetrics(db, provider.getMeter('test'), {
      attributes: { 'azoth.database': 'orders' },
    })
    const m = await db.metrics()
    const metrics = await collect()
    expect(point(metrics, 'azoth.head')).toBe(12)
    expect(point(metrics, 'azoth.transactions.committed')).toBe(m.transactions.committed)
    expect(m.transactions.committed).toBe(12)
    expect(point(metrics, 'azoth.events.appended')).toBe(12)
    expect(point(metrics, 'azoth.commit.groups')).toBe(m.commits.groups)
    expect(point(metrics, 'azoth.transactions.rejected', { 'error.code': 'CONFLICT' })).toBe(0)
    expect(point(metrics, 'azoth.dead_letters', { status: 'pending' })).toBe(1)
    expect(point(metrics, 'azoth.projector.cursor', { 'azoth.projector': 'parking' })).toBe(12)
    expect(point(metrics, 'azoth.projector.lag', { 'azoth.projector': 'parking' })).toBe(0)
    expect(point(metrics, 'azoth.projector.events.dead_lettered', { 'azoth.projector': 'parking' })).toBe(1)
    const p99 = point(metrics, 'azoth.transaction.duration', { quantile: 0.99 })
    expect(p99).toBeCloseTo(m.transactions.latencyMs.p99 / 1000, 12)
    // Kinds, units and the database attribute on every point.
    expect(metrics.get('azoth.transactions.committed')!.dataPointType).toBe(DataPointType.SUM)
    expect(metrics.get('azoth.transactions.committed')!.descriptor.unit).toBe('{transaction}')
    expect(metrics.get('azoth.head')!.dataPointType).toBe(DataPointType.GAUGE)
    expect(metrics.get('azoth.transaction.duration')!.descriptor.unit).toBe('s')
    for (const metric of metrics.values()) {
      for (const p of metric.dataPoints)
        expect(p.attributes['azoth.database'], metric.descriptor.name).toBe('orders')
    }

    // Counters follow later commits.
    await db.writeBatch().appendEvent('more').appendEvent('more').commit()
    expect(point(await collect(), 'azoth.events.appended')).toBe(14)

    // Unregistered: no more readings (a cumulative reader repeats the last one it had).
    unregister()
    await db.writeBatch().appendEvent('more').commit()
    const after = await collect()
    expect(point(after, 'azoth.events.appended')).toBe(14)
    expect(point(after, 'azoth.head')).toBe(14)
  })

  it('a closed database adds no reading, and the collection does not fail', async () => {
    const db = await busyDatabase()
    registerAzothMetrics(db, provider.getMeter('test'))
    expect(point(await collect(), 'azoth.head')).toBe(12)
    await db.close()
    const result = await reader.collect()
    expect(result.errors).toEqual([])
  })

  it('a failing metrics() is reported to the SDK as a collection error', async () => {
    const failing = { metrics: () => Promise.reject(new Error('disk on fire')) } as never
    registerAzothMetrics(failing, provider.getMeter('test'))
    const result = await reader.collect()
    expect(result.errors.map((e) => (e as Error).message)).toEqual(['disk on fire'])
  })

  it('refuses what is not a database, a meter or its options with INVALID_ARGUMENT', async () => {
    await using db = await busyDatabase()
    const meter = provider.getMeter('test')
    const code = (fn: () => unknown) => {
      try {
        fn()
      } catch (e) {
        return isAzothError(e) ? e.code : String(e)
      }
      return 'no error'
    }
    expect(code(() => registerAzothMetrics({} as never, meter))).toBe('INVALID_ARGUMENT')
    expect(code(() => registerAzothMetrics(db, {} as never))).toBe('INVALID_ARGUMENT')
    expect(code(() => registerAzothMetrics(db, meter, { prefix: 'x' } as never))).toBe('INVALID_ARGUMENT')
  })
})
