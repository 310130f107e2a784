import Table from 'cli-table3'
import type { CaseResult, SectionResult, SideResult } from './harness.js'

/** A rate with three significant digits and an SI suffix: `1.23M`, `45.6k`, `789`. */
export function formatRate(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  const abs = Math.abs(n)
  if (abs >= 1e9) return `${(n / 1e9).toPrecision(3)}G`
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)}M`
  if (abs >= 1e3) return `${(n / 1e3).toPrecision(3)}k`
  if (abs >= 1) return n.toPrecision(3)
  return n.toPrecision(2)
}

/** Bytes in MiB with one decimal, as RSS figures are read. */
export function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`
}

const PARAMS_WIDTH = 30

/** `k=v` pairs packed into lines of the params column; a pair is only split when it alone is too long. */
function formatParams(params: Record<string, string | number>): string {
  const lines: string[] = []
  let line = ''
  for (const [k, v] of Object.entries(params)) {
    const pair = `${k}=${v}`
    if (line === '') line = pair
    else if (line.length + 1 + pair.length <= PARAMS_WIDTH) line += ` ${pair}`
    else {
      lines.push(line)
      line = pair
    }
  }
  if (line !== '') lines.push(line)
  return lines.join('\n')
}

function formatSpread(side: SideResult | undefined): string {
  if (side === undefined) return '–'
  return `${formatRate(side.minOpsPerSec)}–${formatRate(side.maxOpsPerSec)}`
}

function formatTarget(c: CaseResult): string {
  const t = c.target
  if (t === undefined) return '–'
  const wanted: string[] = []
  if (t.minOpsPerSec !== undefined) wanted.push(`≥${formatRate(t.minOpsPerSec)}/s`)
  if (t.minRatio !== undefined) wanted.push(`ratio≥${t.minRatio}`)
  const verdict = c.targetMet === undefined ? 'n/a' : c.targetMet ? 'met' : 'MISSED'
  return `${wanted.join(', ')}\n${verdict}`
}

function formatExtra(side: SideResult): string {
  if (side.extra === undefined) return ''
  return `\n${Object.entries(side.extra)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? formatRate(v) : v}`)
    .join('\n')}`
}

function caseRow(c: CaseResult): string[] {
  const ours = c.ours ? `${formatRate(c.ours.medianOpsPerSec)} ${c.unit}/s${formatExtra(c.ours)}` : '–'
  const raw = c.raw ? `${formatRate(c.raw.medianOpsPerSec)} ${c.unit}/s${formatExtra(c.raw)}` : '–'
  const ratio = c.ratio === undefined ? '–' : c.ratio.toFixed(2)
  const spread = c.raw ? `${formatSpread(c.ours)}\n${formatSpread(c.raw)}` : formatSpread(c.ours)
  const rss = [c.ours, c.raw]
    .filter((s): s is SideResult => s !== undefined)
    .map((s) => formatMiB(s.peakRssBytes))
    .join('\n')
  const name = c.error ? `${c.name}\nFAILED: ${c.error}` : c.name
  return [name, formatParams(c.params), ours, raw, ratio, spread, rss || '–', formatTarget(c)]
}

/**
 * Renders a section's results as a table: median units/s per side, ratio ours/raw, the min–max of
 * the timed runs (ours above raw), peak RSS (ours above raw) and the target verdict.
 */
export function formatSectionTable(section: SectionResult): string {
  const lines = [`\n${section.name}: ${section.description}`]
  if (section.error) lines.push(`  FAILED: ${section.error}`)
  if (section.cases.length > 0) {
    const table = new Table({
      head: [
        'workload',
        'params',
        'ours (median)',
        'raw (median)',
        'ratio',
        'min–max /s',
        'peak RSS',
        'target',
      ],
      style: { head: [], border: [] },
      wordWrap: true,
      wrapOnWordBoundary: false,
      colWidths: [32, PARAMS_WIDTH + 2, null, null, null, null, null, null],
    })
    for (const c of section.cases) table.push(caseRow(c))
    lines.push(table.toString())
  }
  return lines.join('\n')
}
