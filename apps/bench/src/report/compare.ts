import Table from 'cli-table3'
import type { BenchReport } from '../bench-report.js'
import { formatRate } from '../format.js'
import type { CaseResult, SideResult } from '../harness.js'

/** Below this relative change a figure never counts as changed, however steady both runs were. */
export const DEFAULT_NOISE_FLOOR = 0.05

/** How a case present in both reports moved. */
export interface CaseComparison {
  /** `section › case`. */
  id: string
  unit: string
  oldMedian: number
  newMedian: number
  /** `new / old − 1`: −0.20 is 20% slower. */
  change: number
  /** The relative change this comparison tolerates: the larger min–max spread of the two runs, or the floor. */
  noise: number
  verdict: 'regressed' | 'improved' | 'unchanged'
}

/** Everything `pnpm bench:compare` found. */
export interface Comparison {
  cases: CaseComparison[]
  /** Cases with a figure in the new report but not in the old one, and the reverse. */
  onlyInNew: string[]
  onlyInOld: string[]
  /** Cases that had a figure before and failed now (counted as regressions: a workload that stopped working). */
  failedNow: { id: string; error: string }[]
  /** Why the two runs may not be comparable at all (another mode, another machine); printed first. */
  warnings: string[]
}

/** `(max − min) / median` of one side's timed runs: how much this run moved on its own. */
export function relativeSpread(side: SideResult): number {
  if (!(side.medianOpsPerSec > 0)) return Number.POSITIVE_INFINITY
  return (side.maxOpsPerSec - side.minOpsPerSec) / side.medianOpsPerSec
}

function figures(report: BenchReport): Map<string, CaseResult> {
  const byId = new Map<string, CaseResult>()
  for (const section of report.sections) {
    for (const c of section.cases) byId.set(`${section.name} › ${c.name}`, c)
  }
  return byId
}

const hasFigure = (c: CaseResult | undefined): c is CaseResult & { ours: SideResult } =>
  c?.ours !== undefined && c.ours.medianOpsPerSec > 0

/**
 * Compares Azoth's median (the `ours` side) of every case present in both reports. A case
 * regressed when its new median is below the old one by more than the noise both runs showed:
 * `max(spread old, spread new, floor)`, a spread being the min–max range of a side's timed runs
 * over its median. A one-run side has no measured spread, so only the floor protects it.
 */
export function compareReports(
  before: BenchReport,
  after: BenchReport,
  noiseFloor = DEFAULT_NOISE_FLOOR,
): Comparison {
  const old = figures(before)
  const now = figures(after)
  const result: Comparison = { cases: [], onlyInNew: [], onlyInOld: [], failedNow: [], warnings: [] }
  if (before.options.quick !== after.options.quick) {
    result.warnings.push(
      'one report is --quick and the other is not: workloads differ in size, figures are not comparable',
    )
  }
  const machine = (r: BenchReport) => `${r.machine.cpuModel} × ${r.machine.cpuCount}, Node ${r.node}`
  if (machine(before) !== machine(after)) {
    result.warnings.push(
      `the runs were made on different machines or Node versions: ${machine(before)} vs ${machine(after)}`,
    )
  }
  for (const [id, o] of old) {
    const n = now.get(id)
    if (n === undefined) {
      if (hasFigure(o)) result.onlyInOld.push(id)
      continue
    }
    if (!hasFigure(o)) {
      if (hasFigure(n)) result.onlyInNew.push(id)
      continue
    }
    if (!hasFigure(n)) {
      result.failedNow.push({ id, error: n.error ?? 'no figure' })
      continue
    }
    const change = n.ours.medianOpsPerSec / o.ours.medianOpsPerSec - 1
    const noise = Math.max(relativeSpread(o.ours), relativeSpread(n.ours), noiseFloor)
    const verdict = change < -noise ? 'regressed' : change > noise ? 'improved' : 'unchanged'
    result.cases.push({
      id,
      unit: n.unit,
      oldMedian: o.ours.medianOpsPerSec,
      newMedian: n.ours.medianOpsPerSec,
      change,
      noise,
      verdict,
    })
  }
  for (const [id, n] of now) if (!old.has(id) && hasFigure(n)) result.onlyInNew.push(id)
  return result
}

/** True when anything got slower than the noise allows or stopped working. */
export function hasRegression(c: Comparison): boolean {
  return c.failedNow.length > 0 || c.cases.some((x) => x.verdict === 'regressed')
}

const percent = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`

/** The printed outcome: a table of the figures that moved beyond the noise, then the lists. */
export function formatComparison(c: Comparison): string {
  const moved = c.cases.filter((x) => x.verdict !== 'unchanged')
  const lines: string[] = c.warnings.map((w) => `WARNING: ${w}`)
  if (moved.length > 0) {
    const table = new Table({
      head: ['case', 'old median', 'new median', 'change', 'noise', 'verdict'],
      colAligns: ['left', 'right', 'right', 'right', 'right', 'left'],
      style: { head: [], border: [] },
    })
    for (const x of moved) {
      table.push([
        x.id,
        `${formatRate(x.oldMedian)} ${x.unit}/s`,
        `${formatRate(x.newMedian)} ${x.unit}/s`,
        percent(x.change),
        `±${(x.noise * 100).toFixed(1)}%`,
        x.verdict === 'regressed' ? 'REGRESSED' : 'improved',
      ])
    }
    lines.push(table.toString())
  }
  const regressed = moved.filter((x) => x.verdict === 'regressed').length
  lines.push(
    `${c.cases.length} cases compared: ${regressed} regressed, ${moved.length - regressed} improved, ` +
      `${c.cases.length - moved.length} within the noise.`,
  )
  for (const f of c.failedNow) lines.push(`FAILED now (had a figure before): ${f.id}: ${f.error}`)
  for (const id of c.onlyInOld) lines.push(`only in the old report: ${id}`)
  for (const id of c.onlyInNew) lines.push(`only in the new report: ${id}`)
  return lines.join('\n')
}
