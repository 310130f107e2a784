/**
 * `pnpm bench:report [--quick] [--sections a,b] [--runs N] [--warmup N] [--from FILE.json]`: runs
 * the bench sections (each in its own process) or loads saved results, then writes BENCHMARKS.md,
 * the plots and results.json under docs/benchmarks/, and the root README's Performance section.
 * Exit 0: written; 1: written, but a section or case failed in the run; 2: bad input.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { BenchReport } from '../bench-report.js'
import { writeReport } from '../bench-report.js'
import { listSectionFiles, type SectionFile, selectSectionFiles } from '../discover.js'
import { describeError, type RunOptions, type SectionResult } from '../harness.js'
import { runSectionInChild } from '../section-process.js'
import { renderBenchmarksMd } from './benchmarks-md.js'
import { fromInvocationDir } from './invocation-dir.js'
import { loadReport } from './load-report.js'
import { renderPlots } from './plots.js'
import { renderReadmeSection, replaceBenchSection } from './readme-section.js'
import { runForReport } from './run-sections.js'

const PLOTS_DIR = 'docs/benchmarks'

const USAGE = `usage: pnpm bench:report [--quick] [--sections a,b] [--runs N] [--warmup N] [--from FILE.json]

  --from FILE     render from saved results (a \`pnpm bench\` or \`bench:report\` JSON); runs nothing
  --quick         smaller workloads, 2 timed runs, 1 warm-up (as \`pnpm bench --quick\`)
  --sections a,b  run only these sections (default: all)
  --runs N        timed runs per side (default 5, quick 2)
  --warmup N      warm-up runs per side (default 2, quick 1)
  --section-timeout MIN  kill a section still running after MIN minutes and report it as failed
  --root DIR      repository root to write into (default: this checkout)`

/** Where the command finds sections and writes; tests point it at temp directories. */
export interface ReportEnvironment {
  root: string
  sectionsDir: string
  /** Where a run also saves its JSON, as `pnpm bench` does (`<time>.json` and `latest.json`). */
  resultsDir: string
  runSection(
    file: SectionFile,
    options: Omit<RunOptions, 'onCase'>,
    limits: { timeoutMs?: number | undefined },
  ): Promise<SectionResult>
  out(text: string): void
  err(text: string): void
}

function count(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${name} must be an integer ≥ ${min}, got '${raw}'`)
  return n
}

function minutes(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (!(n > 0 && Number.isFinite(n)))
    throw new Error(`--section-timeout must be a positive number of minutes, got '${raw}'`)
  return n
}

function parse(argv: readonly string[]) {
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : [...argv],
    strict: true,
    options: {
      from: { type: 'string' },
      quick: { type: 'boolean' },
      sections: { type: 'string' },
      runs: { type: 'string' },
      warmup: { type: 'string' },
      root: { type: 'string' },
      'section-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const quick = values.quick === true
  if (values.from !== undefined && (values.sections !== undefined || values.runs !== undefined || quick)) {
    throw new Error('--from renders saved results; it takes no --quick, --sections or --runs')
  }
  return {
    from: values.from,
    quick,
    sections:
      values.sections === undefined
        ? []
        : values.sections
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
    runs: count('runs', values.runs, quick ? 2 : 5, 1),
    warmup: count('warmup', values.warmup, quick ? 1 : 2, 0),
    root: values.root,
    sectionTimeoutMinutes: minutes(values['section-timeout']),
    help: values.help === true,
  }
}

/** Writes BENCHMARKS.md, the plots, results.json and the README section from one report. */
export async function writeReportFiles(report: BenchReport, root: string): Promise<string[]> {
  // The README is checked first: a README without the markers stops the command before it writes anything.
  const readmePath = join(root, 'README.md')
  const readme = replaceBenchSection(
    await readFile(readmePath, 'utf8'),
    renderReadmeSection(report, 'BENCHMARKS.md'),
  )
  const plotsDir = join(root, PLOTS_DIR)
  await mkdir(plotsDir, { recursive: true })
  const written: string[] = []
  const resultsPath = join(plotsDir, 'results.json')
  await writeFile(resultsPath, `${JSON.stringify(report, null, 2)}\n`)
  written.push(resultsPath)
  const plots = await renderPlots(report, PLOTS_DIR)
  for (const p of plots) {
    const path = join(plotsDir, p.file)
    // An absent plot's old SVG would show figures of another run: it goes.
    if (p.svg === undefined) await rm(path, { force: true })
    else {
      await writeFile(path, p.svg)
      written.push(path)
    }
  }
  const benchmarksPath = join(root, 'BENCHMARKS.md')
  await writeFile(
    benchmarksPath,
    renderBenchmarksMd(
      report,
      plots.map((p) => p.outcome),
    ),
  )
  written.push(benchmarksPath)
  await writeFile(readmePath, readme)
  written.push(readmePath)
  return written
}

/** Runs the command; returns the exit code. */
export async function reportMain(argv: readonly string[], env: ReportEnvironment): Promise<number> {
  let options: ReturnType<typeof parse>
  let report: BenchReport
  try {
    options = parse(argv)
    if (options.help) {
      env.out(USAGE)
      return 0
    }
    if (options.from !== undefined) report = await loadReport(fromInvocationDir(options.from))
    else {
      const files = selectSectionFiles(await listSectionFiles(env.sectionsDir), options.sections)
      const timeoutMs =
        options.sectionTimeoutMinutes === undefined
          ? undefined
          : Math.round(options.sectionTimeoutMinutes * 60_000)
      report = await runForReport({
        ...options,
        files,
        runSection: (file, o) => env.runSection(file, o, { timeoutMs }),
        err: env.err,
      })
      const saved = await writeReport(report, { outDir: env.resultsDir })
      env.err(`bench:report: results saved to ${saved.join(' and ')}`)
    }
  } catch (e) {
    env.err(`bench:report: ${describeError(e)}\n${USAGE}`)
    return 2
  }
  const root = options.root === undefined ? env.root : fromInvocationDir(options.root)
  try {
    const written = await writeReportFiles(report, root)
    env.out(`bench:report: wrote ${written.join(', ')}`)
  } catch (e) {
    env.err(`bench:report: cannot write the report: ${describeError(e)}`)
    return 2
  }
  const failed = report.sections.filter(
    (s) => s.error !== undefined || s.cases.some((c) => c.error !== undefined),
  )
  if (options.from === undefined && failed.length > 0) {
    env.err(`bench:report: failures in ${failed.map((s) => s.name).join(', ')} (listed in BENCHMARKS.md)`)
    return 1
  }
  return 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const packageDir = fileURLToPath(new URL('../..', import.meta.url))
  process.exitCode = await reportMain(process.argv.slice(2), {
    root: join(packageDir, '../..'),
    sectionsDir: join(packageDir, 'src/sections'),
    resultsDir: join(packageDir, 'bench-results'),
    runSection: runSectionInChild,
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  })
}
