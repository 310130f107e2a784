/**
 * `pnpm bench:readme`: rewrites the Performance section of the root README.md from a bench run's
 * JSON (default `bench-results/latest.json`), between `<!-- bench:start -->` and
 * `<!-- bench:end -->`. Every figure comes with the machine, the Node version and the case's
 * parameters; nothing in that section is typed by hand.
 *
 * Usage: tsx src/readme-table.ts [--results FILE] [--readme FILE]
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchReport } from './bench-report.js'
import type { CaseResult, SectionResult, SideResult } from './harness.js'

export const BENCH_START = '<!-- bench:start -->'
export const BENCH_END = '<!-- bench:end -->'

/** The parameters every figure must state, and the names sections give them in `params`. */
const STANDARD_COLUMNS = [
  { title: 'event size', keys: ['eventBytes', 'envelopeBytes', 'payloadBytes', 'recordBytes', 'valueBytes'] },
  { title: 'events/tx', keys: ['eventsPerTx', 'eventsPerCommit', 'eventsPerTransaction', 'batch', 'group'] },
  { title: 'durability', keys: ['durability', 'synchronous'] },
  { title: 'concurrency', keys: ['concurrency', 'callers', 'writers'] },
] as const

const BYTE_KEYS = new Set<string>(STANDARD_COLUMNS[0].keys)

function formatNumber(n: number): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(3)
}

function formatRate(side: SideResult | undefined, unit: string): string {
  return side === undefined ? '—' : `${formatNumber(side.medianOpsPerSec)} ${unit}/s`
}

function formatParam(key: string, value: string | number): string {
  return BYTE_KEYS.has(key) && typeof value === 'number'
    ? `${value.toLocaleString('en-US')} B`
    : String(value)
}

/** Escapes what would break a markdown table cell. */
function cell(text: string): string {
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

function targetCell(c: CaseResult): string {
  if (c.target === undefined) return '—'
  const wanted = [
    c.target.minOpsPerSec === undefined ? undefined : `≥ ${formatNumber(c.target.minOpsPerSec)} ${c.unit}/s`,
    c.target.minRatio === undefined ? undefined : `ratio ≥ ${c.target.minRatio}`,
  ]
    .filter((s) => s !== undefined)
    .join(', ')
  if (c.targetMet === undefined) return `${wanted} (not measured)`
  return `${wanted}: ${c.targetMet ? 'met' : 'missed'}`
}

/** Each side's peak RSS in MiB. Both sides share the process, so each figure bounds the other. */
function memoryCell(c: CaseResult): string {
  const mib = (side: SideResult | undefined) =>
    side === undefined ? '—' : `${(side.peakRssBytes / 2 ** 20).toFixed(0)} MiB`
  return `${mib(c.ours)} / ${mib(c.raw)}`
}

/** One section as a markdown table. */
export function sectionTable(section: SectionResult, machineLine: string): string {
  const lines = [`### ${section.name}`, '', section.description, '', machineLine, '']
  if (section.error !== undefined) {
    lines.push(`Section failed: ${cell(section.error)}`, '')
    return lines.join('\n')
  }
  const hasTargets = section.cases.some((c) => c.target !== undefined)
  const showsMemory = section.cases.some((c) => c.showsMemory === true)
  const head = ['workload', 'ours', 'raw', 'ratio', ...STANDARD_COLUMNS.map((s) => s.title), 'other params']
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
      c.error !== undefined && c.ours === undefined ? `failed: ${c.error}` : formatRate(c.ours, c.unit)
    const row = [
      c.name,
      ours,
      formatRate(c.raw, c.unit),
      c.ratio === undefined ? '—' : `${c.ratio.toFixed(2)}×`,
      ...standard,
      other,
    ]
    if (showsMemory) row.push(c.showsMemory === true ? memoryCell(c) : '—')
    if (hasTargets) row.push(targetCell(c))
    lines.push(`| ${row.map(cell).join(' | ')} |`)
  }
  lines.push('')
  return lines.join('\n')
}

/** The generated Performance section body (what goes between the markers). */
export function renderBenchSection(report: BenchReport): string {
  const gib = (report.machine.totalMemoryBytes / 2 ** 30).toFixed(0)
  const machineLine =
    `Machine: ${report.machine.cpuModel}, ${report.machine.cpuCount} cores, ${gib} GiB · ` +
    `Node ${report.node} (${report.platform} ${report.arch})`
  const mode = report.options.quick ? 'quick mode, smaller workloads' : 'full mode'
  const header = [
    `_Generated by \`pnpm bench:readme\` from the run of ${report.date}` +
      `${report.gitCommit === undefined ? '' : ` at commit \`${report.gitCommit.slice(0, 10)}\``}` +
      ` (${mode}; median of ${report.options.runs} timed runs after ${report.options.warmup} warm-up). Do not edit by hand._`,
    '',
    `${machineLine}.`,
    '',
    '**ours** is Azoth, **raw** is the substrate doing the same work in the same process (lmdb-js, ' +
      'better-sqlite3, `fs`, `JSON`); ratio = ours / raw (above 1: Azoth did more per second). ' +
      '`n/a`: the workload has no such parameter (e.g. a codec does no I/O).',
    '',
  ]
  const tables = report.sections.map((s) => sectionTable(s, `${machineLine}.`))
  return [...header, ...tables].join('\n').trimEnd()
}

/** Replaces what lies between the markers; `CONFIG`-like plain error when they are missing. */
export function replaceBenchSection(readme: string, body: string): string {
  const start = readme.indexOf(BENCH_START)
  const end = readme.indexOf(BENCH_END)
  if (start < 0 || end < 0 || end < start) {
    throw new Error(`README.md needs ${BENCH_START} followed by ${BENCH_END} around the Performance section`)
  }
  return `${readme.slice(0, start + BENCH_START.length)}\n${body}\n${readme.slice(end)}`
}

/** Checks the JSON is a bench report this script understands. */
export function parseReport(text: string, where: string): BenchReport {
  const report = JSON.parse(text) as BenchReport
  if (report?.schemaVersion !== 1 || !Array.isArray(report.sections) || report.machine === undefined) {
    throw new Error(`${where} is not a bench report of schema version 1`)
  }
  return report
}

function argValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag)
  return i < 0 ? undefined : args[i + 1]
}

function main(args: readonly string[]): number {
  const packageDir = fileURLToPath(new URL('..', import.meta.url))
  const resultsPath = resolve(argValue(args, '--results') ?? `${packageDir}bench-results/latest.json`)
  const readmePath = resolve(argValue(args, '--readme') ?? `${packageDir}../../README.md`)
  let text: string
  try {
    text = readFileSync(resultsPath, 'utf8')
  } catch {
    process.stderr.write(`no bench results at ${resultsPath}: run \`pnpm bench\` first\n`)
    return 1
  }
  const report = parseReport(text, resultsPath)
  const readme = readFileSync(readmePath, 'utf8')
  writeFileSync(readmePath, replaceBenchSection(readme, renderBenchSection(report)))
  process.stdout.write(`wrote the Performance section of ${readmePath} from ${resultsPath}\n`)
  return 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2))
}
