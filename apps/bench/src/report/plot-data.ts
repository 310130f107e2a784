import type { BenchReport } from '../bench-report.js'
import type { CaseResult, SideResult } from '../harness.js'

/** One measured point of the callers plot. */
export interface CallersRow {
  callers: number
  side: string
  median: number
  min: number
  max: number
  /** Per-transaction latency percentiles in ms, when the case reported them. */
  p50Ms?: number
  p99Ms?: number
}

/** One measured point of the data-size plot. */
export interface ScaleRow {
  events: number
  /** `metric (unit/s)`: one line (panel) per metric. */
  metric: string
  side: string
  median: number
}

/** One bar of the peers plot. */
export interface PeerRow {
  workload: string
  who: string
  median: number
}

/** One mark of the published-figures plot: a measured point, or a published figure or range. */
export interface PublishedRow {
  label: string
  kind: 'measured here' | 'published, not measured here'
  low: number
  high: number
  text: string
}

export const OURS = 'Azoth (ours)'
export const RAW_LMDB = 'raw lmdb-js'

/** Published figures the issue compares against, with where they apply. */
export const PUBLISHED = {
  referenceTransactions: 8_849,
  referenceStateWrites: 11_243,
  varveReadsLow: 2_300_000,
  varveReadsHigh: 2_900_000,
} as const

const TRANSACTION_CASE = /^Transaction API: .*, (\d+) awaiting callers \(lmdb log\)$/

/** `0.45ms` (what azoth.ts reports) or a number of ms. */
export function latencyMs(value: string | number | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value !== 'string') return undefined
  const m = /^\s*([\d.]+)\s*ms\s*$/.exec(value)
  return m === null ? undefined : Number(m[1])
}

const section = (report: BenchReport, name: string) => report.sections.find((s) => s.name === name)
const measured = (side: SideResult | undefined): side is SideResult =>
  side !== undefined && side.medianOpsPerSec > 0

function callersRow(callers: number, label: string, side: SideResult): CallersRow {
  const row: CallersRow = {
    callers,
    side: label,
    median: side.medianOpsPerSec,
    min: side.minOpsPerSec,
    max: side.maxOpsPerSec,
  }
  const p50 = latencyMs(side.extra?.['p50'])
  const p99 = latencyMs(side.extra?.['p99'])
  if (p50 !== undefined) row.p50Ms = p50
  if (p99 !== undefined) row.p99Ms = p99
  return row
}

/** The `azoth` section's Transaction API cases on the lmdb log, both sides, by number of callers. */
export function callersRows(report: BenchReport): CallersRow[] {
  const rows: CallersRow[] = []
  for (const c of section(report, 'azoth')?.cases ?? []) {
    const m = TRANSACTION_CASE.exec(c.name)
    if (m === null) continue
    const callers = typeof c.params['callers'] === 'number' ? c.params['callers'] : Number(m[1])
    if (measured(c.ours)) rows.push(callersRow(callers, OURS, c.ours))
    if (measured(c.raw)) rows.push(callersRow(callers, RAW_LMDB, c.raw))
  }
  return rows.sort((a, b) => a.callers - b.callers)
}

/** The `scale` section's figures by data size (`params.events`), one series per `params.metric`. */
export function scaleRows(report: BenchReport): ScaleRow[] {
  const rows: ScaleRow[] = []
  for (const c of section(report, 'scale')?.cases ?? []) {
    const { events, metric } = c.params
    if (typeof events !== 'number' || typeof metric !== 'string') continue
    const label = `${metric} (${c.unit}/s)`
    if (measured(c.ours)) rows.push({ events, metric: label, side: OURS, median: c.ours.medianOpsPerSec })
    if (measured(c.raw)) rows.push({ events, metric: label, side: 'raw', median: c.raw.medianOpsPerSec })
  }
  return rows.sort((a, b) => a.events - b.events)
}

/** The peer sections that exist in the plots, and how their raw side is named. */
export const PEER_SECTIONS = [
  { section: 'emmett', peer: 'Emmett SQLite', ours: 'Azoth (vs SQLite run)' },
  { section: 'emmett-postgres', peer: 'Emmett PostgreSQL', ours: 'Azoth (vs PostgreSQL run)' },
] as const

/** Azoth and the peer on each Emmett workload; a side that produced no figure has no bar (see `missing`). */
export function peerRows(report: BenchReport): { rows: PeerRow[]; missing: string[] } {
  const rows: PeerRow[] = []
  const missing: string[] = []
  for (const p of PEER_SECTIONS) {
    for (const c of section(report, p.section)?.cases.filter((x) => x.name.startsWith('Emmett')) ?? []) {
      const workload = `${c.name.replace(/^Emmett /, '')} (${c.unit}/s)`
      for (const [who, side] of [
        [p.ours, c.ours],
        [p.peer, c.raw],
      ] as const) {
        if (measured(side)) rows.push({ workload, who, median: side.medianOpsPerSec })
        else missing.push(`${who}: ${c.name}${c.error === undefined ? '' : ` (${c.error})`}`)
      }
    }
  }
  return { rows, missing }
}

const firstCase = (report: BenchReport, name: string, test: (c: CaseResult) => boolean) =>
  section(report, name)?.cases.find(test)

const rate = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toPrecision(3)}M` : n >= 1e3 ? `${(n / 1e3).toPrecision(3)}k` : n.toPrecision(3)

/** A figure of this run, drawn as a point among the published ones. */
function measuredRow(label: string, perSec: number, unit: string): PublishedRow {
  return { label, kind: 'measured here', low: perSec, high: perSec, text: `${rate(perSec)} ${unit}` }
}

/** Azoth's 1-caller Transaction API and `db.events()` figures next to the published ones they answer. */
export function publishedRows(report: BenchReport): PublishedRow[] {
  const published = 'published, not measured here' as const
  const rows: PublishedRow[] = []
  const oneCaller = firstCase(report, 'azoth', (c) => TRANSACTION_CASE.exec(c.name)?.[1] === '1')
  if (measured(oneCaller?.ours))
    rows.push(measuredRow('Azoth: Transaction API, 1 caller, sync', oneCaller.ours.medianOpsPerSec, 'tx/s'))
  const {
    referenceTransactions: tx,
    referenceStateWrites: sw,
    varveReadsLow: lo,
    varveReadsHigh: hi,
  } = PUBLISHED
  rows.push(
    {
      label: 'reference: Transaction API, single-threaded',
      kind: published,
      low: tx,
      high: tx,
      text: '8,849 tx/s',
    },
    { label: 'reference: state writes', kind: published, low: sw, high: sw, text: '11,243 tx/s' },
  )
  const reads = firstCase(report, 'reads', (c) => /payload not read/.test(c.name))
  if (measured(reads?.ours))
    rows.push(measuredRow('Azoth: db.events(), payload not read', reads.ours.medianOpsPerSec, 'events/s'))
  rows.push({
    label: 'VarveDB: reads (zero-copy)',
    kind: published,
    low: lo,
    high: hi,
    text: '2.3–2.9M events/s',
  })
  return rows
}
