import type { BenchReport } from '../bench-report.js'
import type { CaseResult } from '../harness.js'
import { formatNumber } from './markdown-table.js'

/** A figure that missed its target, or a workload that produced no figure. */
export interface Shortfall {
  section: string
  case: string
  /** What was measured, e.g. `2,710 tx/s (ratio 0.23× of raw)`; or why nothing was. */
  figure: string
  /** What was wanted, e.g. `ratio ≥ 0.35`; `a figure` for a failed case. */
  target: string
  /** `stopped`: the section itself failed (did not load, died, timed out) after `case`. */
  kind: 'missed' | 'failed' | 'stopped'
}

function figureOf(c: CaseResult): string {
  if (c.ours === undefined) return 'no figure'
  const ratio = c.ratio === undefined ? '' : ` (ratio ${c.ratio.toFixed(2)}× of raw)`
  return `${formatNumber(c.ours.medianOpsPerSec)} ${c.unit}/s${ratio}`
}

function wantedOf(c: CaseResult): string {
  const t = c.target ?? {}
  return [
    t.minOpsPerSec === undefined ? undefined : `≥ ${formatNumber(t.minOpsPerSec)} ${c.unit}/s`,
    t.minRatio === undefined ? undefined : `ratio ≥ ${t.minRatio}`,
  ]
    .filter((s) => s !== undefined)
    .join(' and ')
}

/**
 * Every MISSED target and every section or case that failed, in report order. The report lists
 * them up front: a figure that falls short is said, never left for the reader to find in a table.
 */
export function shortfalls(report: BenchReport): Shortfall[] {
  const found: Shortfall[] = []
  for (const section of report.sections) {
    if (section.error !== undefined) {
      const n = section.cases.length
      found.push({
        section: section.name,
        case: n === 0 ? 'no case finished' : `${n} case${n === 1 ? '' : 's'} finished before (in its table)`,
        figure: section.error,
        target: 'every case',
        kind: 'stopped',
      })
    }
    for (const c of section.cases) {
      if (c.error !== undefined) {
        found.push({
          section: section.name,
          case: c.name,
          figure: `failed: ${c.error}`,
          target: 'a figure',
          kind: 'failed',
        })
      } else if (c.targetMet === false) {
        found.push({
          section: section.name,
          case: c.name,
          figure: figureOf(c),
          target: wantedOf(c),
          kind: 'missed',
        })
      }
    }
  }
  return found
}

/** How many cases had a target, and how many of those met it. */
export function targetCounts(report: BenchReport): { met: number; missed: number } {
  let met = 0
  let missed = 0
  for (const s of report.sections) {
    for (const c of s.cases) {
      if (c.targetMet === true) met++
      else if (c.targetMet === false) missed++
    }
  }
  return { met, missed }
}
