import { parseArgs } from 'node:util'
import { AzothError } from '@azothdb/core'
import { buildReport, writeReport } from './bench-report.js'
import { listSectionFiles, loadSection, type SectionFile, selectSectionFiles } from './discover.js'
import { formatRate, formatSectionTable } from './format.js'
import { type CaseResult, describeError, type RunOptions, runSection, type SectionResult } from './harness.js'

/** Where the CLI finds sections, writes results and prints. */
export interface CliEnvironment {
  /** Directory holding the `<section>.ts` files. */
  sectionsDir: string
  /** Directory the JSON results go to when `--json` is not given. */
  outDir: string
  /** Receives the tables and the summary (stdout). */
  out(text: string): void
  /** Receives progress and errors (stderr). */
  err(text: string): void
  /**
   * Runs one section somewhere else (`pnpm bench` uses a child process per section, so no section
   * inherits another's JIT feedback, heap or threads). Without it, sections run in this process.
   */
  runIsolated?(file: SectionFile, options: Omit<RunOptions, 'onCase'>): Promise<SectionResult>
}

const DEFAULT_RUNS = 5
const QUICK_RUNS = 2
const DEFAULT_WARMUP = 2
const QUICK_WARMUP = 1

const USAGE = `usage: pnpm bench [section...] [--quick] [--runs N] [--warmup N] [--json FILE]

  section      run only these sections (default: all)
  --quick      smaller workloads, ${QUICK_RUNS} timed runs, ${QUICK_WARMUP} warm-up
  --runs N     timed runs per side (default ${DEFAULT_RUNS}, quick ${QUICK_RUNS})
  --warmup N   untimed warm-up runs per side (default ${DEFAULT_WARMUP}, quick ${QUICK_WARMUP})
  --json FILE  write the JSON results to FILE (default: bench-results/<time>.json and latest.json)
  --list       list the sections and exit`

interface CliOptions {
  sections: string[]
  quick: boolean
  runs: number
  warmup: number
  json: string | undefined
  list: boolean
  help: boolean
}

function countOption(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min) {
    throw new AzothError('CONFIG', `--${name} must be an integer ≥ ${min}, got '${raw}'`, {
      details: { field: name, value: raw },
    })
  }
  return n
}

/** Parses the command line; bad flags raise `CONFIG`. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  // `pnpm bench -- core --quick` hands the script a literal leading `--`; it separates nothing here.
  const args = argv[0] === '--' ? argv.slice(1) : argv
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(args)
  } catch (e) {
    throw new AzothError('CONFIG', describeError(e), { cause: e })
  }
  const { values, positionals } = parsed
  const quick = values.quick === true
  return {
    sections: positionals,
    quick,
    runs: countOption('runs', values.runs, quick ? QUICK_RUNS : DEFAULT_RUNS, 1),
    warmup: countOption('warmup', values.warmup, quick ? QUICK_WARMUP : DEFAULT_WARMUP, 0),
    json: values.json,
    list: values.list === true,
    help: values.help === true,
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      json: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}

/** The one-line summary of a measured case printed while a run goes on. */
export function progressLine(section: string, c: CaseResult): string {
  if (c.error) return `  ${section} › ${c.name}: FAILED ${c.error}`
  const ours = c.ours ? `ours ${formatRate(c.ours.medianOpsPerSec)} ${c.unit}/s` : ''
  const raw = c.raw ? `, raw ${formatRate(c.raw.medianOpsPerSec)} ${c.unit}/s` : ''
  const ratio = c.ratio === undefined ? '' : `, ratio ${c.ratio.toFixed(2)}`
  return `  ${section} › ${c.name}: ${ours}${raw}${ratio}`
}

/**
 * Runs the bench command line and returns the process exit code: 0 when every selected section and
 * case ran, 1 on bad arguments, an unknown section, or any failure (the other sections still run).
 */
export async function runCli(argv: readonly string[], env: CliEnvironment): Promise<number> {
  let options: CliOptions
  let selected: Awaited<ReturnType<typeof listSectionFiles>>
  try {
    options = parseCliArgs(argv)
    if (options.help) {
      env.out(USAGE)
      return 0
    }
    const files = await listSectionFiles(env.sectionsDir)
    if (options.list) {
      env.out(files.map((f) => f.name).join('\n'))
      return 0
    }
    selected = selectSectionFiles(files, options.sections)
  } catch (e) {
    env.err(`bench: ${describeError(e)}`)
    if (e instanceof AzothError && e.code === 'CONFIG') env.err(USAGE)
    return 1
  }

  const startedAt = new Date()
  const runOptions: RunOptions = {
    runs: options.runs,
    warmup: options.warmup,
    quick: options.quick,
    onCase: (section, c) => env.err(progressLine(section, c)),
  }
  env.err(
    `bench: ${selected.map((f) => f.name).join(', ')} — ${options.runs} timed runs, ${options.warmup} warm-up${options.quick ? ', quick' : ''}`,
  )
  const results: SectionResult[] = []
  for (const file of selected) {
    let result: SectionResult
    try {
      if (env.runIsolated !== undefined) {
        const { runs, warmup, quick } = runOptions
        result = await env.runIsolated(file, { runs, warmup, quick })
      } else {
        result = await runSection(await loadSection(file), runOptions)
      }
    } catch (e) {
      result = { name: file.name, description: '(not loaded)', cases: [], error: describeError(e) }
    }
    results.push(result)
    env.out(formatSectionTable(result))
  }

  const report = buildReport(
    startedAt,
    {
      quick: options.quick,
      runs: options.runs,
      warmup: options.warmup,
      sections: selected.map((f) => f.name),
    },
    results,
  )
  try {
    const paths = await writeReport(report, { jsonPath: options.json, outDir: env.outDir })
    env.out(`\nresults written to ${paths.join(' and ')}`)
  } catch (e) {
    env.err(`bench: cannot write results: ${describeError(e)}`)
    return 1
  }
  const failures = results.filter((s) => s.error !== undefined || s.cases.some((c) => c.error !== undefined))
  if (failures.length > 0) {
    env.err(`bench: failures in ${failures.map((s) => s.name).join(', ')}`)
    return 1
  }
  return 0
}
