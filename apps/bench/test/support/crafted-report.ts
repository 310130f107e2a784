import type { BenchReport } from '../../src/bench-report.js'
import type { CaseResult, SectionResult, SideResult } from '../../src/harness.js'

/** A side whose timed runs were `runs` units/s (median, min and max derived from them). */
export function side(runs: number[], extra?: Record<string, string | number>): SideResult {
  const sorted = [...runs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  const result: SideResult = {
    medianOpsPerSec: median,
    minOpsPerSec: sorted[0]!,
    maxOpsPerSec: sorted[sorted.length - 1]!,
    samples: runs.map((r) => ({ units: r, ms: 1000, opsPerSec: r })),
    peakRssBytes: 100 * 2 ** 20,
  }
  if (extra !== undefined) result.extra = extra
  return result
}

/** A measured case; the ratio and verdict are filled in as the harness would. */
export function measured(
  name: string,
  ours: SideResult,
  more: Partial<Omit<CaseResult, 'name' | 'ours'>> = {},
): CaseResult {
  const c: CaseResult = { name, unit: 'tx', params: {}, processMaxRssBytes: 0, ours, ...more }
  if (c.raw !== undefined) c.ratio = ours.medianOpsPerSec / c.raw.medianOpsPerSec
  return c
}

export function section(name: string, cases: CaseResult[], error?: string): SectionResult {
  return { name, description: `the ${name} section`, cases, ...(error === undefined ? {} : { error }) }
}

/** A report of the given sections, on a fixture machine, with the run's disk and fsync figures. */
export function report(sections: SectionResult[], more: Partial<BenchReport> = {}): BenchReport {
  return {
    schemaVersion: 1,
    date: '2026-01-02T03:04:05.000Z',
    node: 'v20.99.0',
    platform: 'linux',
    arch: 'x64',
    machine: { cpuModel: 'Fixture CPU 9000', cpuCount: 2, totalMemoryBytes: 24 * 2 ** 30 },
    gitCommit: '0123456789abcdef0123456789abcdef01234567',
    options: { quick: true, runs: 3, warmup: 1, sections: sections.map((s) => s.name) },
    sections,
    os: { name: 'Fixture Linux 1', kernel: '9.9.9-fixture' },
    disk: { path: '/tmp', device: '/dev/fixture0', fsType: 'ext4', mountPoint: '/', rotational: false },
    fsync: { path: '/tmp', writeBytes: 100, count: 300, p50Us: 271, p99Us: 1234, minUs: 80, maxUs: 2000 },
    ...more,
  }
}

const latency = (p50: number, p99: number) => ({ p50: `${p50.toFixed(2)}ms`, p99: `${p99.toFixed(2)}ms` })

/**
 * The sections the plots read, small: the `azoth` Transaction API by callers (with p50/p99), the
 * `reads` figure, the `emmett` peer (its concurrent case failed), and a `single-caller` case that
 * missed its target.
 */
export function plottedSections(): SectionResult[] {
  const transaction = (callers: number) =>
    measured(
      `Transaction API: 1 key + 1 event per tx, ${callers} awaiting callers (lmdb log)`,
      side([900 * callers, 1000 * callers, 1100 * callers], latency(1 + callers / 100, 3 + callers / 50)),
      {
        params: { durability: 'sync', eventLog: 'lmdb', callers },
        raw: side([1200 * callers, 1250 * callers, 1300 * callers], latency(0.8, 2)),
        target: { minRatio: 0.7 },
        targetMet: true,
      },
    )
  return [
    section('azoth', [1, 4, 16, 64, 256].map(transaction)),
    section('reads', [
      measured('db.events() over 200,000 events, payload not read', side([1_000_000, 1_040_000]), {
        unit: 'events',
        target: { minOpsPerSec: 3_000_000 },
        targetMet: false,
      }),
    ]),
    section('emmett', [
      measured(
        'Emmett appendToStream: sequential single-event appends with expected versions',
        side([280, 300]),
        {
          unit: 'appends',
          params: { callers: 1, azoth: "durability 'sync'", sqlite: 'WAL, synchronous=FULL' },
          raw: side([50, 60]),
        },
      ),
      {
        name: 'Emmett appendToStream: 64 concurrent appenders on distinct streams',
        unit: 'appends',
        params: { callers: 64 },
        processMaxRssBytes: 0,
        ours: side([9000, 9500]),
        error: 'a call waited more than a minute',
      },
    ]),
    section('single-caller', [
      measured(
        'one caller, relaxed: Transaction API, 1 key + 1 event per tx (lmdb log) vs noMetaSync',
        side([2700, 2950]),
        {
          params: { durability: 'relaxed', callers: 1 },
          raw: side([3400, 3600]),
          target: { minOpsPerSec: 15_000 },
          targetMet: false,
        },
      ),
    ]),
  ]
}
