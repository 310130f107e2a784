import { Azoth, type AzothEvent, ErrorStrategy, type SqliteTx, silentLogger } from 'azothdb'
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

// A name with the characters the exposition format must escape in a label value.
const ODD_NAME = 'odd "name" \\ here'

function family(families: readonly ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name)
  if (found === undefined) throw new Error(`no family ${name} in ${families.map((f) => f.name).join(', ')}`)
  return found
}

/** The one sample of `name` whose labels include `labels`, as a number. */
function value(families: readonly ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const samples = family(families, name).metrics.filter((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  )
  if (samples.length !== 1)
    throw new Error(`${samples.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return Number(samples[0]!.value)
}

async function busyDatabase(): Promise<Azoth> {
  const db = await Azoth.open(tempDir(), { eventLog: 'file', logger: silentLogger })
  await db.migrate([{ version: 1, name: 't', up: (tx: SqliteTx) => tx.exec('CREATE TABLE t (id INTEGER)') }])
  for (let i = 0; i < 20; i++) {
    await db
      .transaction()
      .keys([`k${i % 3}`])
      .execute((tx) => {
        tx.set(`k${i % 3}`, BigInt(i))
        tx.log('counted', { i })
      })
  }
  await expectCode(
    db
      .transaction()
      .requireMin('k0', 1_000n)
      .execute(() => {}),
    'PREFLIGHT_FAILED',
  )
  const failOnSeven = {
    eventTypes: '*' as const,
    handle: (e: AzothEvent, tx: SqliteTx) => {
      if (e.id === 7) throw new Error('seven is unlucky')
      tx.run('INSERT INTO t (id) VALUES (?)', [e.id])
    },
  }
  await db
    .projector({ name: 'applied', handlers: [failOnSeven], errorStrategy: ErrorStrategy.deadLetter() })
    .runOnce()
  db.projector({
    name: ODD_NAME,
    handlers: [{ eventTypes: ['counted'], handle: () => {} }],
    circuitBreaker: { failureThreshold: 3 },
  })
  return db
}

describe("db.metrics({ format: 'prometheus' })", () => {
  it('parses as Prometheus text and reports what db.metrics() reports, by conventional names', async () => {
    await using db = await busyDatabase()
    const m = await db.metrics()
    const text = await db.metrics({ format: 'prometheus' })
    const families = parsePrometheusTextFormat(text)

    expect(value(families, 'azoth_head_event_id')).toBe(20)
    expect(value(families, 'azoth_transactions_committed_total')).toBe(m.transactions.committed)
    expect(m.transactions.committed).toBe(20)
    expect(value(families, 'azoth_transactions_failed_total')).toBe(1)
    expect(value(families, 'azoth_transaction_rejections_total', { code: 'PREFLIGHT_FAILED' })).toBe(1)
    expect(value(families, 'azoth_transaction_rejections_total', { code: 'CONFLICT' })).toBe(0)
    expect(value(families, 'azoth_commits_total')).toBe(m.commits.commits)
    expect(value(families, 'azoth_commit_groups_total')).toBe(m.commits.groups)
    expect(value(families, 'azoth_events_appended_total')).toBe(20)
    expect(value(families, 'azoth_dead_letters', { status: 'pending' })).toBe(1)
    expect(value(families, 'azoth_dead_letters', { status: 'permanent' })).toBe(0)
    expect(value(families, 'azoth_subscriptions')).toBe(0)

    // Every family is typed and explained; counters end in _total.
    for (const f of families) {
      expect(f.help.length, f.name).toBeGreaterThan(0)
      expect(f.name.startsWith('azoth_'), f.name).toBe(true)
      if (f.type === 'COUNTER') expect(f.name.endsWith('_total'), f.name).toBe(true)
    }

    // Per projector, by label; a name with quotes and a backslash comes back intact.
    expect(value(families, 'azoth_projector_cursor', { projector: 'applied' })).toBe(20)
    expect(value(families, 'azoth_projector_lag_events', { projector: 'applied' })).toBe(0)
    expect(value(families, 'azoth_projector_dead_lettered_total', { projector: 'applied' })).toBe(1)
    expect(value(families, 'azoth_projector_errors_total', { projector: 'applied' })).toBe(
      m.projectors['applied']!.errors,
    )
    expect(value(families, 'azoth_projector_lag_events', { projector: ODD_NAME })).toBe(
      m.projectors[ODD_NAME]!.lag,
    )
    expect(value(families, 'azoth_projector_state', { projector: 'applied', state: 'idle' })).toBe(1)
    expect(value(families, 'azoth_projector_state', { projector: 'applied', state: 'running' })).toBe(0)
    expect(value(families, 'azoth_projector_circuit_state', { projector: ODD_NAME, state: 'closed' })).toBe(1)
    // Only the projector with a breaker has a circuit.
    expect(
      family(families, 'azoth_projector_circuit_state').metrics.some(
        (s) => s.labels?.['projector'] === 'applied',
      ),
    ).toBe(false)
  })

  it('exposes commit latency as a histogram in seconds: cumulative buckets, +Inf = count, sum', async () => {
    await using db = await busyDatabase()
    const { latencyMs } = (await db.metrics()).transactions
    const histogram = family(
      parsePrometheusTextFormat(await db.metrics({ format: 'prometheus' })),
      'azoth_transaction_duration_seconds',
    )
    expect(histogram.type).toBe('HISTOGRAM')
    const sample = histogram.metrics[0]!
    expect(Number(sample.count)).toBe(20)
    expect(Number(sample.sum)).toBeCloseTo(latencyMs.totalMs / 1000, 9)
    const bounds = Object.entries(sample.buckets!)
      .map(([le, n]) => [le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(n)] as const)
      .sort((a, b) => a[0] - b[0])
    expect(bounds.at(-1)).toEqual([Number.POSITIVE_INFINITY, 20])
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]![1]).toBeGreaterThanOrEqual(bounds[i - 1]![1])
    // The median sits in the first bucket whose bound reaches it.
    const medianSeconds = latencyMs.p50 / 1000
    const atMedian = bounds.find(([le]) => le >= medianSeconds)!
    expect(atMedian[1]).toBeGreaterThanOrEqual(10)
    // Each bucket counts exactly the samples the object form counts below the same bound.
    expect(bounds.slice(0, -1).map(([, n]) => n)).toEqual(latencyMs.buckets.map((b) => b.count))
  })

  it('refuses an unknown format or field with INVALID_ARGUMENT and stays usable', async () => {
    await using db = await busyDatabase()
    await expectCode(() => db.metrics({ format: 'json' } as never), 'INVALID_ARGUMENT')
    await expectCode(() => db.metrics({ formats: 'prometheus' } as never), 'INVALID_ARGUMENT')
    expect((await db.metrics({ format: 'object' })).head).toBe(20)
  })
})
