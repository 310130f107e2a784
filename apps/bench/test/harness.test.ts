import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import type { BenchReport } from '../src/bench-report.js'
import { runCli } from '../src/cli.js'
import { listSectionFiles, loadSection, selectSectionFiles } from '../src/discover.js'
import { type Case, type Measure, measureCase, runSection, type Section, targetMet } from '../src/harness.js'
import { summarize } from '../src/stats.js'

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const sectionsDir = join(fixtures, 'sections')
const realSectionsDir = fileURLToPath(new URL('../src/sections/', import.meta.url))

const tempDirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'azoth-bench-test-'))
  tempDirs.push(dir)
  return dir
}
afterEach(async () => {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

/** A measure that records every call in `log` and reports `units` per run. */
function recording(label: string, log: string[], units = 10): Measure {
  return {
    setup: () => void log.push(`${label}:setup`),
    run: () => {
      log.push(`${label}:run`)
      return units
    },
    teardown: () => void log.push(`${label}:teardown`),
  }
}

const count = (log: string[], entry: string) => log.filter((e) => e === entry).length

function captureEnv(dir: string, outDir: string) {
  const out: string[] = []
  const err: string[] = []
  return {
    out,
    err,
    env: {
      sectionsDir: dir,
      outDir,
      out: (t: string) => void out.push(t),
      err: (t: string) => void err.push(t),
    },
  }
}

describe('measureCase', () => {
  it('sets up and tears down each side once and runs it warm-up + N times', async () => {
    const log: string[] = []
    const c: Case = { name: 'c', unit: 'ops', ours: recording('ours', log), raw: recording('raw', log) }
    const result = await measureCase(c, { runs: 5, warmup: 3 })
    for (const side of ['ours', 'raw']) {
      expect(count(log, `${side}:setup`)).toBe(1)
      expect(count(log, `${side}:run`)).toBe(8)
      expect(count(log, `${side}:teardown`)).toBe(1)
    }
    expect(log.slice(0, 2)).toEqual(['ours:setup', 'raw:setup'])
    expect(log.slice(-2)).toEqual(['ours:teardown', 'raw:teardown'])
    expect(result.ours?.samples).toHaveLength(5)
    expect(result.raw?.samples).toHaveLength(5)
    expect(result.error).toBeUndefined()
  })

  it('alternates which side runs first, so noise hits both alike', async () => {
    const log: string[] = []
    await measureCase(
      { name: 'c', unit: 'ops', ours: recording('ours', log), raw: recording('raw', log) },
      { runs: 2, warmup: 2 },
    )
    const runs = log.filter((e) => e.endsWith(':run'))
    expect(runs).toEqual([
      'ours:run',
      'raw:run',
      'raw:run',
      'ours:run',
      'ours:run',
      'raw:run',
      'raw:run',
      'ours:run',
    ])
  })

  it('reports median, min, max of units per second and ratio = ours median / raw median', async () => {
    const result = await measureCase(
      {
        name: 'c',
        unit: 'rows',
        params: { batch: 7 },
        ours: { run: () => 1000 },
        raw: { run: () => 10 },
      },
      { runs: 3, warmup: 0 },
    )
    expect(result.unit).toBe('rows')
    expect(result.params).toEqual({ batch: 7 })
    for (const side of [result.ours!, result.raw!]) {
      for (const s of side.samples) expect(s.opsPerSec).toBeCloseTo(s.units / (s.ms / 1000), 3)
      const rates = side.samples.map((s) => s.opsPerSec).sort((a, b) => a - b)
      expect(side.medianOpsPerSec).toBe(rates[1])
      expect(side.minOpsPerSec).toBe(rates[0])
      expect(side.maxOpsPerSec).toBe(rates[2])
      expect(side.peakRssBytes).toBeGreaterThan(0)
    }
    expect(result.ratio).toBe(result.ours!.medianOpsPerSec / result.raw!.medianOpsPerSec)
    expect(result.processMaxRssBytes).toBeGreaterThan(0)
  })

  it('has no raw figures or ratio for a case without a raw side', async () => {
    const result = await measureCase(
      { name: 'c', unit: 'ops', ours: { run: async () => 1 } },
      { runs: 2, warmup: 1 },
    )
    expect(result.ours?.samples).toHaveLength(2)
    expect(result.raw).toBeUndefined()
    expect(result.ratio).toBeUndefined()
  })

  it('reports a failing run, still tears down every side, and does not throw', async () => {
    const log: string[] = []
    const result = await measureCase(
      {
        name: 'c',
        unit: 'ops',
        ours: {
          ...recording('ours', log),
          run: () => {
            throw new Error('boom')
          },
        },
        raw: recording('raw', log),
      },
      { runs: 3, warmup: 1 },
    )
    expect(result.error).toContain('boom')
    expect(count(log, 'ours:teardown')).toBe(1)
    expect(count(log, 'raw:teardown')).toBe(1)
  })

  it('does not tear down a side whose setup never ran', async () => {
    const log: string[] = []
    const result = await measureCase(
      {
        name: 'c',
        unit: 'ops',
        ours: recording('ours', log),
        raw: {
          ...recording('raw', log),
          setup: () => {
            throw new Error('no disk')
          },
        },
      },
      { runs: 1, warmup: 0 },
    )
    expect(result.error).toContain('no disk')
    expect(log).toEqual(['ours:setup', 'ours:teardown'])
    expect(result.ours).toBeUndefined()
  })

  it('rejects a run that reports no units', async () => {
    const result = await measureCase(
      { name: 'c', unit: 'ops', ours: { run: () => 0 } },
      { runs: 1, warmup: 0 },
    )
    expect(result.error).toMatch(/INVALID_ARGUMENT: run\(\) of 'c' \(ours\) returned 0/)
  })

  it('marks targets met or missed and never fails on a missed one', async () => {
    const met = await measureCase(
      { name: 'c', unit: 'ops', ours: { run: () => 1 }, target: { minOpsPerSec: 1e-9 } },
      { runs: 1, warmup: 0 },
    )
    expect(met.targetMet).toBe(true)
    const missed = await measureCase(
      { name: 'c', unit: 'ops', ours: { run: () => 1 }, target: { minOpsPerSec: Number.MAX_VALUE } },
      { runs: 1, warmup: 0 },
    )
    expect(missed.targetMet).toBe(false)
    expect(missed.error).toBeUndefined()
  })
})

describe('targetMet and summarize', () => {
  it('checks every given target; a ratio target without a raw side is missed', () => {
    expect(targetMet(undefined, 10, 1)).toBeUndefined()
    expect(targetMet({}, 10, 1)).toBeUndefined()
    expect(targetMet({ minOpsPerSec: 10 }, 10, undefined)).toBe(true)
    expect(targetMet({ minOpsPerSec: 11 }, 10, undefined)).toBe(false)
    expect(targetMet({ minRatio: 0.8 }, 10, 0.8)).toBe(true)
    expect(targetMet({ minRatio: 0.8 }, 10, 0.79)).toBe(false)
    expect(targetMet({ minRatio: 0.8 }, 10, undefined)).toBe(false)
    expect(targetMet({ minOpsPerSec: 5, minRatio: 2 }, 10, 1)).toBe(false)
  })

  it('takes the middle value, or the mean of the middle two', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 })
    expect(summarize([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4 })
  })
})

describe('runSection', () => {
  it('passes quick and a temp dir that exists during the section and is removed after', async () => {
    const seen: { quick: boolean; tmpDir: string; existedInRun: boolean }[] = []
    const section: Section = {
      name: 'tiny',
      description: 'in memory',
      cases: (ctx) => [
        {
          name: 'c',
          unit: 'ops',
          ours: {
            run: () => {
              seen.push({ ...ctx, existedInRun: existsSync(ctx.tmpDir) })
              return 1
            },
          },
        },
      ],
    }
    const result = await runSection(section, { runs: 2, warmup: 0, quick: true })
    expect(result).toMatchObject({ name: 'tiny', description: 'in memory' })
    expect(result.cases).toHaveLength(1)
    expect(seen).toHaveLength(2)
    expect(seen.every((s) => s.quick && s.existedInRun)).toBe(true)
    expect(existsSync(seen[0]!.tmpDir)).toBe(false)
  })

  it('reports a section whose cases() throws', async () => {
    const section: Section = {
      name: 'broken',
      description: 'throws',
      cases: () => {
        throw new Error('cannot build')
      },
    }
    const result = await runSection(section, { runs: 1, warmup: 0, quick: false })
    expect(result.error).toContain('cannot build')
    expect(result.cases).toEqual([])
  })
})

describe('section discovery', () => {
  it('lists section files sorted by name', async () => {
    const files = await listSectionFiles(sectionsDir)
    expect(files.map((f) => f.name)).toEqual(['alpha', 'beta'])
  })

  it('selects all sections by default, or the named ones', async () => {
    const files = await listSectionFiles(sectionsDir)
    expect(selectSectionFiles(files, []).map((f) => f.name)).toEqual(['alpha', 'beta'])
    expect(selectSectionFiles(files, ['beta']).map((f) => f.name)).toEqual(['beta'])
  })

  it('rejects an unknown section, listing the available ones', async () => {
    const files = await listSectionFiles(sectionsDir)
    let caught: unknown
    try {
      selectSectionFiles(files, ['alpha', 'nope'])
    } catch (e) {
      caught = e
    }
    expect(isAzothError(caught, 'INVALID_ARGUMENT')).toBe(true)
    expect((caught as Error).message).toBe("unknown bench section 'nope'; available: alpha, beta")
  })

  it('loads a section, and refuses one named unlike its file or not exporting a Section', async () => {
    const [alpha] = await listSectionFiles(sectionsDir)
    const section = await loadSection(alpha!)
    expect(section.name).toBe('alpha')
    for (const file of await listSectionFiles(join(fixtures, 'misnamed'))) {
      await expect(loadSection(file)).rejects.toMatchObject({ code: 'CONFIG' })
    }
  })

  it('every real section file exports a Section named like its file', async () => {
    const files = await listSectionFiles(realSectionsDir)
    expect(files.map((f) => f.name)).toContain('core')
    for (const file of files) expect((await loadSection(file)).name).toBe(file.name)
  })
})

describe('runCli', () => {
  it('exits 1 on an unknown section, naming the available ones, and writes nothing', async () => {
    const outDir = join(await tempDir(), 'results')
    const { env, err } = captureEnv(sectionsDir, outDir)
    expect(await runCli(['alpha', 'zeta'], env)).toBe(1)
    expect(err.join('\n')).toContain("unknown bench section 'zeta'; available: alpha, beta")
    expect(existsSync(outDir)).toBe(false)
  })

  it('exits 1 on a bad flag value or an unknown flag', async () => {
    const { env, err } = captureEnv(sectionsDir, await tempDir())
    expect(await runCli(['--runs', '0'], env)).toBe(1)
    expect(err.join('\n')).toContain("--runs must be an integer ≥ 1, got '0'")
    expect(await runCli(['--fast'], env)).toBe(1)
  })

  it('writes a JSON report with the machine, options and every figure', async () => {
    const jsonPath = join(await tempDir(), 'out.json')
    const { env, out } = captureEnv(sectionsDir, await tempDir())
    expect(await runCli(['alpha', 'beta', '--runs', '3', '--warmup', '0', '--json', jsonPath], env)).toBe(0)
    expect(out.join('\n')).toContain('sum 1000 numbers')
    const report = JSON.parse(await readFile(jsonPath, 'utf8')) as BenchReport
    expect(report.schemaVersion).toBe(1)
    expect(Number.isNaN(Date.parse(report.date))).toBe(false)
    expect(report.node).toBe(process.version)
    expect(report.machine.cpuCount).toBeGreaterThan(0)
    expect(typeof report.machine.cpuModel).toBe('string')
    expect(report.machine.totalMemoryBytes).toBeGreaterThan(0)
    expect(report.options).toEqual({ quick: false, runs: 3, warmup: 0, sections: ['alpha', 'beta'] })
    expect(report.sections.map((s) => s.name)).toEqual(['alpha', 'beta'])
    const [alphaCase] = report.sections[0]!.cases
    expect(alphaCase).toMatchObject({
      name: 'sum 1000 numbers',
      unit: 'ops',
      params: { size: 1000, quick: 'false' },
      target: { minRatio: 0 },
      targetMet: true,
    })
    for (const side of [alphaCase!.ours!, alphaCase!.raw!]) {
      expect(side.samples).toHaveLength(3)
      expect(side.samples[0]).toEqual({
        units: 1000,
        ms: expect.any(Number),
        opsPerSec: expect.any(Number),
      })
      expect(side).toMatchObject({
        medianOpsPerSec: expect.any(Number),
        minOpsPerSec: expect.any(Number),
        maxOpsPerSec: expect.any(Number),
        peakRssBytes: expect.any(Number),
      })
    }
    expect(alphaCase!.ratio).toBe(alphaCase!.ours!.medianOpsPerSec / alphaCase!.raw!.medianOpsPerSec)
    const betaCase = report.sections[1]!.cases[0]!
    expect(betaCase.raw).toBeUndefined()
    expect(betaCase.ratio).toBeUndefined()
  })

  it('accepts the leading -- that pnpm passes through', async () => {
    const jsonPath = join(await tempDir(), 'out.json')
    const { env } = captureEnv(sectionsDir, await tempDir())
    expect(await runCli(['--', 'beta', '--runs', '1', '--json', jsonPath], env)).toBe(0)
    const report = JSON.parse(await readFile(jsonPath, 'utf8')) as BenchReport
    expect(report.options).toMatchObject({ runs: 1, sections: ['beta'] })
  })

  it('by default writes a timestamped file and latest.json to the results dir', async () => {
    const outDir = join(await tempDir(), 'bench-results')
    const { env } = captureEnv(sectionsDir, outDir)
    expect(await runCli(['beta', '--quick'], env)).toBe(0)
    const written = (await readdir(outDir)).sort()
    expect(written).toHaveLength(2)
    expect(written).toContain('latest.json')
    expect(written[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/)
    const latest = JSON.parse(await readFile(join(outDir, 'latest.json'), 'utf8')) as BenchReport
    expect(latest.options).toMatchObject({ quick: true, runs: 2, warmup: 1 })
  })
})

describe('one process per section', () => {
  it('runs each section in its own child process and still reports a section whose process died', async () => {
    const json = join(await tempDir(), 'report.json')
    const run = await runTypeScript(join(fixtures, 'isolated-cli.ts'), [join(fixtures, 'isolated'), json])
    expect(run.code).toBe(1) // the vanished section is a failure; the others still ran
    const driverPid = Number(/driver (\d+)/.exec(run.stdout)?.[1])
    const report = JSON.parse(await readFile(json, 'utf8')) as BenchReport
    const [killed, pid, vanishes] = report.sections
    expect(pid?.cases[0]?.params['pid']).toEqual(expect.any(Number))
    expect(pid?.cases[0]?.params['pid']).not.toBe(driverPid)
    expect(pid?.cases[0]?.ours?.medianOpsPerSec).toBeGreaterThan(0)
    expect(vanishes?.name).toBe('vanishes')
    expect(vanishes?.error).toMatch(/exited with 3/)
    expect(killed?.error).toMatch(/section 'killed' was killed by SIGKILL/)
  }, 60_000)
})
