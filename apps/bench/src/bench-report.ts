import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import type { SectionResult } from './harness.js'

/** The JSON document a bench run writes: where and how it ran, and every figure. */
export interface BenchReport {
  /** Bumped when the shape changes incompatibly. */
  schemaVersion: 1
  /** ISO 8601 time the run started. */
  date: string
  node: string
  platform: string
  arch: string
  machine: { cpuModel: string; cpuCount: number; totalMemoryBytes: number }
  /** `git rev-parse HEAD` of the checkout, when available. */
  gitCommit?: string
  options: { quick: boolean; runs: number; warmup: number; sections: string[] }
  sections: SectionResult[]
  /** Operating system and kernel; written by `pnpm bench:report`. */
  os?: HostOs
  /** The disk the bench's temp directory is on; written by `pnpm bench:report`. */
  disk?: DiskInfo
  /** What one small durable write costs on that disk, measured in the run; written by `pnpm bench:report`. */
  fsync?: FsyncLatency
}

/** The operating system a run was made on. */
export interface HostOs {
  /** `PRETTY_NAME` of `/etc/os-release` when readable, else the platform. */
  name: string
  /** `os.release()`, e.g. `6.1.0-18-amd64`. */
  kernel: string
}

/** The filesystem holding a directory, as `df -T` and `/sys/block` describe it. */
export interface DiskInfo {
  /** The directory probed (the bench's temp directory). */
  path: string
  /** e.g. `/dev/vda`, `overlay`, `tmpfs`. */
  device?: string
  /** e.g. `ext4`, `xfs`, `tmpfs`. */
  fsType?: string
  mountPoint?: string
  /** From `/sys/block/<disk>/queue/rotational`; absent when the device has no such entry (tmpfs, overlay...). */
  rotational?: boolean
}

/** Latency of `write` of a small record + `fdatasync`, repeated, in one file of the probed directory. */
export interface FsyncLatency {
  /** Directory the file was in. */
  path: string
  writeBytes: number
  count: number
  p50Us: number
  p99Us: number
  minUs: number
  maxUs: number
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return undefined // not a git checkout, or git missing: the report simply has no commit
  }
}

/** Builds the report of a run from its results and the machine it ran on. */
export function buildReport(
  startedAt: Date,
  options: BenchReport['options'],
  sections: SectionResult[],
): BenchReport {
  const cpuList = cpus()
  const report: BenchReport = {
    schemaVersion: 1,
    date: startedAt.toISOString(),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    machine: {
      cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
      cpuCount: cpuList.length,
      totalMemoryBytes: totalmem(),
    },
    options,
    sections,
  }
  const commit = gitCommit()
  if (commit !== undefined) report.gitCommit = commit
  return report
}

/**
 * Writes the report. With `jsonPath`, to that file only; otherwise to `<outDir>/<timestamp>.json`
 * and `<outDir>/latest.json`. Returns the paths written.
 */
export async function writeReport(
  report: BenchReport,
  target: { jsonPath?: string | undefined; outDir: string },
): Promise<string[]> {
  const text = `${JSON.stringify(report, null, 2)}\n`
  const paths = target.jsonPath
    ? [target.jsonPath]
    : [join(target.outDir, `${report.date.replace(/[:.]/g, '-')}.json`), join(target.outDir, 'latest.json')]
  for (const path of paths) {
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, text)
  }
  return paths
}
