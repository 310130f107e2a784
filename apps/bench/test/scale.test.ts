import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth } from 'azothdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Case, type CaseResult, measureCase } from '../src/harness.js'
import { killWriterMidLoad } from '../src/scale/killed-writer.js'
import { ScaleFixture } from '../src/scale/scale-fixture.js'
import { SizeTrend } from '../src/scale/size-trend.js'
import { scaleCases } from '../src/sections/scale.js'

const METRICS = ['commit', 'get', 'iterate', 'catchup', 'open-clean', 'open-sigkill', 'disk-bytes']
const N = 1_000

describe('Measure.prepare and Case.maxRuns', () => {
  it('calls prepare before every run, untimed, and caps the runs of a case', async () => {
    const log: string[] = []
    const c: Case = {
      name: 'c',
      unit: 'ops',
      ours: {
        prepare: () => void log.push('prepare'),
        run: () => {
          log.push('run')
          return 1
        },
      },
      maxRuns: { runs: 2, warmup: 1 },
    }
    const result = await measureCase(c, { runs: 5, warmup: 2 })
    expect(log).toEqual(['prepare', 'run', 'prepare', 'run', 'prepare', 'run'])
    expect(result.ours?.samples).toHaveLength(2)
  })

  it('never raises the runs above the options', async () => {
    const result = await measureCase(
      { name: 'c', unit: 'ops', ours: { run: () => 1 }, maxRuns: { runs: 9, warmup: 9 } },
      { runs: 1, warmup: 0 },
    )
    expect(result.ours?.samples).toHaveLength(1)
  })
})

describe('SizeTrend', () => {
  it('compares the median at a size with the size before it, flagging a fall of more than 25%', async () => {
    // A fake clock: every run takes 10 ms, so the rate is what the run reports.
    let ms = 0
    const trend = new SizeTrend(() => (ms += 5))
    const at = (n: number, previous: number | undefined, units: number) =>
      trend.track({ run: () => units }, 'm', n, previous)
    const small = at(10, undefined, 1000)
    await small.run()
    expect(small.report?.()).toEqual({})
    const slightlySlower = at(100, 10, 800)
    await slightlySlower.run()
    expect(slightlySlower.report?.()).toEqual({ 'vs10^1': '0.80 (within 25%)' })
    const halved = at(1000, 100, 400)
    await halved.run()
    expect(halved.report?.()).toEqual({ 'vs10^2': '0.50 (MISSED 25%)' })
  })
})

describe(`the scale section at ${N} keys and events`, () => {
  let dir: string
  const results: CaseResult[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'azoth-bench-scale-'))
    for (const c of scaleCases(dir, [N], true)) results.push(await measureCase(c, { runs: 1, warmup: 0 }))
  }, 180_000)
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('runs every case without an error, each carrying events = N and a known metric', () => {
    expect(results.length).toBeGreaterThan(0)
    for (const r of results) {
      expect(r.error, r.name).toBeUndefined()
      expect(r.params.events, r.name).toBe(N)
      expect(METRICS, r.name).toContain(r.params.metric)
    }
    expect(new Set(results.map((r) => r.params.metric))).toEqual(new Set(METRICS))
  })

  it('gives sane units: whole operations, every event iterated or applied, allocated bytes', () => {
    for (const r of results) {
      const units = r.ours!.samples[0]!.units
      expect(r.ours!.peakRssBytes, r.name).toBeGreaterThan(0)
      expect(r.showsMemory, r.name).toBe(true)
      switch (r.params.metric) {
        case 'open-clean':
        case 'open-sigkill':
          expect([r.unit, units], r.name).toEqual(['opens', 1])
          break
        case 'iterate':
        case 'catchup':
          // Every event there: N built, and nothing committed on top before these cases.
          expect([r.unit, units], r.name).toEqual(['events', N])
          expect(r.raw!.samples[0]!.units, r.name).toBe(N)
          break
        case 'get':
          expect(r.unit).toBe('ops')
          expect(units).toBe(r.params.readsPerRun)
          break
        case 'commit':
          expect(r.unit).toBe('tx')
          expect(units).toBe(r.params.txPerRun)
          break
        case 'disk-bytes':
          expect(r.unit).toBe('bytes')
          // N events of ~80 bytes at least, in both stores.
          expect(units, r.name).toBeGreaterThan(N * 80)
          expect(r.ours!.extra?.bytes, r.name).toBe(units)
          expect(r.raw!.samples[0]!.units, r.name).toBeGreaterThan(N * 80)
          break
      }
    }
  })

  it('removes the data of a size after its last case', () => {
    expect(existsSync(join(dir, `n${N}`))).toBe(false)
  })
})

describe('killWriterMidLoad', () => {
  it('leaves a database whose next open sees the acknowledged commits of the killed writer', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'azoth-bench-kill-'))
    const fixture = new ScaleFixture(dir, 100)
    try {
      await fixture.build()
      const before = (await fixture.db()).head()
      await fixture.closeDb()
      await killWriterMidLoad(fixture.oursDir, 100)
      const db = await Azoth.open(fixture.oursDir, { create: false })
      try {
        // The child prints `ready` after 256 acknowledged commits, each one event.
        expect(db.head()).toBeGreaterThanOrEqual(before + 256)
        expect((await db.verify()).ok).toBe(true)
      } finally {
        await db.close()
      }
    } finally {
      await fixture.dispose()
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
