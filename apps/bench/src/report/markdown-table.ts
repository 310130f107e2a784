/**
 * Markdown tables of bench results, one per section: every figure with its parameters, ratio and
 * target verdict. BENCHMARKS.md is made of them.
 */
import type { CaseResult, SectionResult, SideResult } from '../harness.js'

/** The parameters every figure must state, and the names sections give them in `params`. */
const STANDARD_COLUMNS = [
  { title: 'event size', keys: ['eventBytes', 'envelopeBytes', 'payloadBytes', 'recordBytes', 'valueBytes'] },
  { title: 'events/tx', keys: ['eventsPerTx', 'eventsPerCommit', 'eventsPerTransaction', 'batch', 'group'] },
  { title: 'durability', keys: ['durability', 'synchronous'] },
  { title: 'concurrency', keys: ['concurrency', 'callers', 'writers'] },
] as const

const BYTE_KEYS = new Set<string>(STANDARD_COLUMNS[0].keys)

/** A figure for a markdown table: grouped digits from 100 up, three significant digits below. */
export function formatNumber(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(3)
}

/** A side's median rate with its unit, `—` when the side is missing. */
export function formatSideRate(side: SideResult | undefined, unit: string): string {
  return side === undefined ? '—' : `${formatNumber(side.medianOpsPerSec)} ${unit}/s`
}

function formatParam(key: string, value: string | number): string {
  return BYTE_KEYS.has(key) && typeof value === 'number'
    ? `${value.toLocaleString('en-US')} B`
    : String(value)
}

/** Escapes what would break a markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** The standard parameters of a case (`n/a` when the workload has none, e.g. a pure codec), then the rest. */
function paramCells(c: CaseResult): { standard: string[]; other: string } {
  const used = new Set<string>()
  const standard = STANDARD_COLUMNS.map(({ keys }) => {
    const key = keys.find((k) => c.params[k] !== undefined)
    if (key === undefined) return 'n/a'
    used.add(key)
    // Name the parameter when the section calls it something else than the column's usual name.
    const value = formatParam(key, c.params[key]!)
    return key === keys[0] ? value : `${value} (${key})`
  })
  const other = Object.entries(c.params)
    .filter(([k]) => !used.has(k))
    .map(([k, v]) => `${k}=${formatParam(k, v)}`)
    .join(', ')
  return { standard, other: other === '' ? '—' : other }
}

/** The case's target and its verdict (`met` / `MISSED`). */
export function targetCell(c: CaseResult): string {
  if (c.target === undefined) return '—'
  const wanted = [
    c.target.minOpsPerSec === undefined ? undefined : `≥ ${formatNumber(c.target.minOpsPerSec)} ${c.unit}/s`,
    c.target.minRatio === undefined ? undefined : `ratio ≥ ${c.target.minRatio}`,
  ]
    .filter((s) => s !== undefined)
    .join(', ')
  if (c.targetMet === undefined) return `${wanted} (not measured)`
  return `${wanted}: ${c.targetMet ? 'met' : 'MISSED'}`
}

/** Each side's peak RSS in MiB. Both sides share the process, so each figure bounds the other. */
function memoryCell(c: CaseResult): string {
  const mib = (side: SideResult | undefined) =>
    side === undefined ? '—' : `${(side.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
  return `${mib(c.ours)} / ${mib(c.raw)}`
}

/** The slowest and fastest timed run of each side, and what each side's `report()` added (latency percentiles...). */
function runsCell(c: CaseResult): string {
  const side = (label: string, s: SideResult | undefined) => {
    if (s === undefined) return undefined
    const extra = Object.entries(s.extra ?? {}).map(([k, v]) => `${k} ${v}`)
    return [`${label} ${formatNumber(s.minOpsPerSec)}–${formatNumber(s.maxOpsPerSec)}`, ...extra].join(', ')
  }
  const parts = [side('ours', c.ours), side('raw', c.raw)].filter((p) => p !== undefined)
  return parts.length === 0 ? '—' : parts.join('; ')
}

/**
 * One section as a markdown table: rates, ratio, the standard parameters and every other one,
 * each side's min–max and extra figures, peak RSS when the section shows memory, the target verdict.
 */
export function sectionTable(section: SectionResult): string {
  const lines = [`### ${section.name}`, '', section.description, '']
  if (section.error !== undefined) {
    lines.push(`Section failed: ${cell(section.error)}`, '')
    return lines.join('\n')
  }
  const hasTargets = section.cases.some((c) => c.target !== undefined)
  const showsMemory = section.cases.some((c) => c.showsMemory === true)
  const head = ['workload', 'ours', 'raw', 'ratio', ...STANDARD_COLUMNS.map((s) => s.title), 'other params']
  head.push('runs min–max /s, extra')
  if (showsMemory) head.push('peak RSS (ours / raw)')
  if (hasTargets) head.push('target')
  const numeric = new Set(['ours', 'raw', 'ratio', 'event size', 'events/tx', 'concurrency'])
  lines.push(
    `| ${head.join(' | ')} |`,
    `| ${head.map((h) => (numeric.has(h) ? '---:' : '---')).join(' | ')} |`,
  )
  for (const c of section.cases) {
    const { standard, other } = paramCells(c)
    const ours =
      c.error !== undefined && c.ours === undefined ? `failed: ${c.error}` : formatSideRate(c.ours, c.unit)
    const row = [
      c.name,
      ours,
      formatSideRate(c.raw, c.unit),
      c.ratio === undefined ? '—' : `${c.ratio.toFixed(2)}×`,
      ...standard,
      other,
      runsCell(c),
    ]
    if (showsMemory) row.push(c.showsMemory === true ? memoryCell(c) : '—')
    if (hasTargets) row.push(targetCell(c))
    lines.push(`| ${row.map(cell).join(' | ')} |`)
  }
  lines.push('')
  return lines.join('\n')
}
