import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** What one area of the suite did against one backend. `lost` must stay 0. */
export interface Tally {
  /** Child processes SIGKILLed. */
  kills: number
  /** Faults injected: damaged files, full disks, hung handlers, restarted containers. */
  faultsInjected: number
  /** Operations and inputs tried (transactions, batches, generated commands, opens). */
  inputsTried: number
  /** Invariant checks that passed. */
  invariantChecks: number
  /** Acknowledged writes missing after recovery, or wrong answers: anything but 0 is a bug. */
  lost: number
}

export interface SummaryRow extends Tally {
  readonly area: string
  readonly backend: string
}

const COLUMNS = ['kills', 'faultsInjected', 'inputsTried', 'invariantChecks', 'lost'] as const

/** The tallies of one test file, by area and backend; written as a fragment the run's teardown merges. */
export class Summary {
  readonly #rows = new Map<string, SummaryRow>()

  /** The mutable tally of `area` against `backend`. */
  tally(area: string, backend: string): Tally {
    const id = `${area}\u0000${backend}`
    let row = this.#rows.get(id)
    if (row === undefined) {
      row = { area, backend, kills: 0, faultsInjected: 0, inputsTried: 0, invariantChecks: 0, lost: 0 }
      this.#rows.set(id, row)
    }
    return row
  }

  rows(): SummaryRow[] {
    return [...this.#rows.values()]
  }

  /** Writes this file's rows into the run directory (one JSON file per test file). */
  writeFragment(runDir: string, name: string): void {
    mkdirSync(runDir, { recursive: true })
    writeFileSync(join(runDir, `${name}.json`), JSON.stringify(this.rows()))
  }
}

/** Every fragment written into the run directory. */
export function readFragments(runDir: string): SummaryRow[] {
  const rows: SummaryRow[] = []
  let names: string[] = []
  try {
    names = readdirSync(runDir).filter((n) => n.endsWith('.json'))
  } catch {
    return rows
  }
  for (const name of names.sort()) {
    rows.push(...(JSON.parse(readFileSync(join(runDir, name), 'utf8')) as SummaryRow[]))
  }
  return rows
}

/** Sums rows per column. */
export function totals(rows: readonly SummaryRow[]): Tally {
  const t: Tally = { kills: 0, faultsInjected: 0, inputsTried: 0, invariantChecks: 0, lost: 0 }
  for (const r of rows) for (const c of COLUMNS) t[c] += r[c]
  return t
}

/** A plain-text table of the rows and their totals. */
export function formatSummary(rows: readonly SummaryRow[], header: string): string {
  const body = [...rows].sort((a, b) => a.area.localeCompare(b.area) || a.backend.localeCompare(b.backend))
  const table: string[][] = [['area', 'backend', ...COLUMNS]]
  for (const r of body) table.push([r.area, r.backend, ...COLUMNS.map((c) => String(r[c]))])
  const t = totals(rows)
  table.push(['total', '', ...COLUMNS.map((c) => String(t[c]))])
  const widths = table[0]!.map((_, i) => Math.max(...table.map((line) => line[i]!.length)))
  const render = (line: string[]) =>
    line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [
    header,
    render(table[0]!),
    rule,
    ...table.slice(1, -1).map(render),
    rule,
    render(table.at(-1)!),
  ].join('\n')
}

/**
 * Writes `summary-<backend>.json` per backend into `resultsDir`: that backend's rows (and the rows
 * that cover both), their totals, the profile and the seed.
 */
export function writeResults(
  resultsDir: string,
  rows: readonly SummaryRow[],
  run: { readonly profile: string; readonly seed: number },
): string[] {
  mkdirSync(resultsDir, { recursive: true })
  const written: string[] = []
  for (const backend of ['lmdb', 'file']) {
    const mine = rows.filter((r) => r.backend === backend || r.backend === 'both')
    const path = join(resultsDir, `summary-${backend}.json`)
    writeFileSync(path, `${JSON.stringify({ ...run, backend, totals: totals(mine), rows: mine }, null, 2)}\n`)
    written.push(path)
  }
  return written
}
