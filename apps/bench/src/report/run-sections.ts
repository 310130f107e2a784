import { tmpdir } from 'node:os'
import { type BenchReport, buildReport } from '../bench-report.js'
import type { SectionFile } from '../discover.js'
import { describeError, type RunOptions, type SectionResult } from '../harness.js'
import { measureFsyncLatency } from './fsync-latency.js'
import { diskInfo, hostOs } from './host.js'

/** How the report runs its sections. */
export interface ReportRunOptions {
  files: readonly SectionFile[]
  quick: boolean
  runs: number
  warmup: number
  /** Runs one section (`pnpm bench:report` uses a child process per section, as `pnpm bench` does). */
  runSection(file: SectionFile, options: Omit<RunOptions, 'onCase'>): Promise<SectionResult>
  /** Progress lines. */
  err(text: string): void
}

/**
 * Probes the machine (OS, the disk of the temp directory, its fsync latency), then runs every
 * section and returns the report. A section that fails is recorded with its error; the others run.
 */
export async function runForReport(o: ReportRunOptions): Promise<BenchReport> {
  const startedAt = new Date()
  const dir = tmpdir()
  const disk = diskInfo(dir)
  // Measured before the sections, while the machine is not busy with our own work.
  const fsync = measureFsyncLatency(dir, o.quick ? 300 : 2000)
  o.err(
    `bench:report: fdatasync of ${fsync.writeBytes} B on ${disk.fsType ?? '?'} (${disk.device ?? '?'}): ` +
      `p50 ${Math.round(fsync.p50Us)} µs, p99 ${Math.round(fsync.p99Us)} µs`,
  )
  const sections: SectionResult[] = []
  for (const file of o.files) {
    o.err(`bench:report: section ${file.name}`)
    let result: SectionResult
    try {
      result = await o.runSection(file, { runs: o.runs, warmup: o.warmup, quick: o.quick })
    } catch (e) {
      result = { name: file.name, description: '(not run)', cases: [], error: describeError(e) }
    }
    if (result.error !== undefined) o.err(`  ${file.name}: FAILED ${result.error}`)
    sections.push(result)
  }
  const report = buildReport(
    startedAt,
    { quick: o.quick, runs: o.runs, warmup: o.warmup, sections: o.files.map((f) => f.name) },
    sections,
  )
  report.os = hostOs()
  report.disk = disk
  report.fsync = fsync
  return report
}
