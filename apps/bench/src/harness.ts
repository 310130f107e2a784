import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AzothError } from '@azothdb/core'
import { RssSampler } from './rss-sampler.js'
import { summarize } from './stats.js'

// ---- The contract every section implements ------------------------------------------------------

/** One side of a case (ours or the raw baseline): how to prepare, time and clean up its work. */
export interface Measure {
  /** Prepares state before timing; not timed. Called once per case side. */
  setup?(): Promise<void> | void
  /**
   * Prepares the next run; not timed. Called before every warm-up and timed run, for work that must
   * be redone each time and is not what the case measures (e.g. SIGKILLing a writer before timing
   * the recovering open).
   */
  prepare?(): Promise<void> | void
  /** One timed iteration; returns how many operations (units) it did. Called warm-up + N times. */
  run(): Promise<number> | number
  /** Cleans up; not timed. */
  teardown?(): Promise<void> | void
  /**
   * Extra figures of the timed runs (e.g. commit latency percentiles), read once after them and
   * printed under the side's rate. Collect them in `run()`; reset them in `setup()` or `run()`.
   */
  report?(): Record<string, string | number>
}

/** One workload, measured for Azoth and, when given, for the raw substrate doing the same work. */
export interface Case {
  /** e.g. 'get random key (1M keys)'. */
  name: string
  /** What one operation is: 'ops' | 'events' | 'tx' | 'rows' | 'bytes' ... */
  unit: string
  /** Printed and saved with every figure: event size, batch size, durability, concurrency, ... */
  params?: Record<string, string | number>
  ours: Measure
  /** The raw substrate doing the same work (lmdb-js, better-sqlite3, fs, JSON); ratio = ours / raw. */
  raw?: Measure
  /** Targets from the issues; reported as met/missed, never asserted. */
  target?: { minOpsPerSec?: number; minRatio?: number }
  /**
   * Fewer timed and warm-up runs than the section's options, for a case whose one run is long (a
   * catch-up over ten million events); the smaller of these and the options' counts is used.
   */
  maxRuns?: { runs: number; warmup: number }
  /** Memory is part of what the case shows: the README table gives each side's peak RSS. */
  showsMemory?: boolean
}

/** What a section is given when it builds its cases. */
export interface SectionContext {
  /** True for `--quick`: sections should use smaller data and fewer operations per run. */
  quick: boolean
  /** A fresh directory for this section's files, removed after the section has run. */
  tmpDir: string
}

/** The default export of every `src/sections/<name>.ts` file. */
export interface Section {
  name: string
  description: string
  cases(ctx: SectionContext): Promise<Case[]> | Case[]
}

// ---- Results ------------------------------------------------------------------------------------

/** How a section is run. */
export interface RunOptions {
  /** Timed runs per side. */
  runs: number
  /** Untimed warm-up runs per side, made before the timed ones. */
  warmup: number
  /** Passed to the sections as {@link SectionContext.quick}. */
  quick: boolean
  /** Called when a case has been measured, for progress output. */
  onCase?: ((section: string, result: CaseResult) => void) | undefined
  /** Called with the section's temp directory once made, so a parent can remove it if this process is killed. */
  onTmpDir?: ((dir: string) => void) | undefined
}

/** One timed call of {@link Measure.run}. */
export interface RunSample {
  /** Units the run reported doing. */
  units: number
  /** Wall-clock time of the run in milliseconds. */
  ms: number
  /** `units / seconds`. */
  opsPerSec: number
}

/** The figures of one side of a case. */
export interface SideResult {
  /** Median of the timed runs' units per second: the headline figure. */
  medianOpsPerSec: number
  minOpsPerSec: number
  maxOpsPerSec: number
  /** Every timed run, in the order it was made. */
  samples: RunSample[]
  /**
   * Highest `process.memoryUsage.rss()` seen during this side's timed runs (sampled before and after
   * each run and every few milliseconds while an async run yields). Both sides share the process,
   * so memory one side keeps can show up in the other's figure.
   */
  peakRssBytes: number
  /** What the side's `report()` returned after the timed runs. */
  extra?: Record<string, string | number>
}

/** The outcome of one case. */
export interface CaseResult {
  name: string
  unit: string
  params: Record<string, string | number>
  /** Missing only when the case failed before any timed run finished. */
  ours?: SideResult
  raw?: SideResult
  /** `ours.medianOpsPerSec / raw.medianOpsPerSec`: above 1 means Azoth did more work per second. */
  ratio?: number
  target?: { minOpsPerSec?: number; minRatio?: number }
  /** Whether every given target held; absent when the case has no target or failed. */
  targetMet?: boolean
  /** `process.resourceUsage().maxRSS` after the case: the process-wide high-water mark, in bytes. */
  processMaxRssBytes: number
  /** Copied from {@link Case.showsMemory}. */
  showsMemory?: boolean
  /** Set when setup, a run or teardown threw; figures may then be missing. */
  error?: string
}

/** The outcome of one section. */
export interface SectionResult {
  name: string
  description: string
  cases: CaseResult[]
  /** Set when the section could not be loaded or could not build its cases. */
  error?: string
}

// ---- Runner -------------------------------------------------------------------------------------

interface SideState {
  readonly label: 'ours' | 'raw'
  readonly measure: Measure
  readonly samples: RunSample[]
  peakRss: number
  setUp: boolean
}

/** Describes a thrown value for a report: the message, and the code of an Azoth error. */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${e.message}` : e.message
  }
  return String(e)
}

// With --expose-gc (as `pnpm bench` runs), every timed run starts from a collected heap, so one
// side does not pay for the other's (or an earlier case's) garbage.
const collectGarbage = (globalThis as { gc?: () => void }).gc

async function timedRun(side: SideState, sampler: RssSampler, caseName: string): Promise<RunSample> {
  await side.measure.prepare?.()
  collectGarbage?.()
  sampler.start()
  const t0 = process.hrtime.bigint()
  const units = await side.measure.run()
  const t1 = process.hrtime.bigint()
  side.peakRss = Math.max(side.peakRss, sampler.stop())
  if (typeof units !== 'number' || !Number.isFinite(units) || units <= 0) {
    throw new AzothError('INVALID_ARGUMENT', `run() of '${caseName}' (${side.label}) returned ${units}`, {
      details: { case: caseName, side: side.label, units },
    })
  }
  // A run faster than the timer's resolution still counts as 1 ns rather than dividing by zero.
  const ns = Math.max(1, Number(t1 - t0))
  return { units, ms: ns / 1e6, opsPerSec: units / (ns / 1e9) }
}

function sideResult(side: SideState): SideResult | undefined {
  if (side.samples.length === 0) return undefined
  const { median, min, max } = summarize(side.samples.map((s) => s.opsPerSec))
  const result: SideResult = {
    medianOpsPerSec: median,
    minOpsPerSec: min,
    maxOpsPerSec: max,
    samples: side.samples,
    peakRssBytes: side.peakRss,
  }
  const extra = side.measure.report?.()
  if (extra !== undefined) result.extra = extra
  return result
}

/** True when every target given holds; a ratio target without a raw side counts as missed. */
export function targetMet(
  target: Case['target'],
  oursOpsPerSec: number | undefined,
  ratio: number | undefined,
): boolean | undefined {
  if (target === undefined || oursOpsPerSec === undefined) return undefined
  if (target.minOpsPerSec === undefined && target.minRatio === undefined) return undefined
  if (target.minOpsPerSec !== undefined && oursOpsPerSec < target.minOpsPerSec) return false
  if (target.minRatio !== undefined && (ratio === undefined || ratio < target.minRatio)) return false
  return true
}

/**
 * Measures one case: sets both sides up, makes the warm-up runs, then the timed runs, alternating
 * which side goes first (ours, raw, raw, ours, ...) so drifting machine noise hits both alike.
 * Teardown always runs for every side that was set up. Failures are reported, never thrown.
 */
export async function measureCase(
  c: Case,
  options: Pick<RunOptions, 'runs' | 'warmup'>,
): Promise<CaseResult> {
  const sides: SideState[] = [{ label: 'ours', measure: c.ours, samples: [], peakRss: 0, setUp: false }]
  if (c.raw !== undefined) sides.push({ label: 'raw', measure: c.raw, samples: [], peakRss: 0, setUp: false })
  const sampler = new RssSampler()
  const errors: string[] = []
  let turn = 0
  const inTurnOrder = (): SideState[] => (turn++ % 2 === 0 ? sides : [...sides].reverse())
  try {
    for (const side of sides) {
      await side.measure.setup?.()
      side.setUp = true
    }
    const warmup = Math.min(options.warmup, c.maxRuns?.warmup ?? options.warmup)
    const runs = Math.min(options.runs, c.maxRuns?.runs ?? options.runs)
    for (let i = 0; i < warmup; i++) {
      for (const side of inTurnOrder()) {
        await side.measure.prepare?.()
        await side.measure.run()
      }
    }
    for (let i = 0; i < runs; i++) {
      for (const side of inTurnOrder()) side.samples.push(await timedRun(side, sampler, c.name))
    }
  } catch (e) {
    errors.push(describeError(e))
  } finally {
    for (const side of sides) {
      if (!side.setUp) continue
      try {
        await side.measure.teardown?.()
      } catch (e) {
        errors.push(`teardown (${side.label}): ${describeError(e)}`)
      }
    }
  }

  const result: CaseResult = {
    name: c.name,
    unit: c.unit,
    params: c.params ?? {},
    processMaxRssBytes: process.resourceUsage().maxRSS * 1024,
  }
  const ours = sides[0] ? sideResult(sides[0]) : undefined
  const raw = sides[1] ? sideResult(sides[1]) : undefined
  if (ours) result.ours = ours
  if (raw) result.raw = raw
  if (ours && raw) result.ratio = ours.medianOpsPerSec / raw.medianOpsPerSec
  if (c.target) result.target = c.target
  if (c.showsMemory) result.showsMemory = true
  if (errors.length > 0) result.error = errors.join('; ')
  else {
    const met = targetMet(c.target, ours?.medianOpsPerSec, result.ratio)
    if (met !== undefined) result.targetMet = met
  }
  return result
}

/**
 * Runs every case of a section in a fresh temp directory (removed afterwards) and returns the
 * results. A section whose `cases()` throws yields a result with `error` set.
 */
export async function runSection(section: Section, options: RunOptions): Promise<SectionResult> {
  const result: SectionResult = { name: section.name, description: section.description, cases: [] }
  const tmpDir = await mkdtemp(join(tmpdir(), `azoth-bench-${section.name.replace(/[^\w-]/g, '_')}-`))
  options.onTmpDir?.(tmpDir)
  try {
    let cases: Case[]
    try {
      cases = await section.cases({ quick: options.quick, tmpDir })
    } catch (e) {
      result.error = `cases() failed: ${describeError(e)}`
      return result
    }
    for (const c of cases) {
      const caseResult = await measureCase(c, options)
      result.cases.push(caseResult)
      options.onCase?.(section.name, caseResult)
    }
    return result
  } finally {
    await rm(tmpDir, { recursive: true, force: true })
  }
}
