import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import type { BenchReport } from '../src/bench-report.js'
import { compareReports, hasRegression } from '../src/report/compare.js'
import { compareMain } from '../src/report/compare-cli.js'
import { measured, report, section, side } from './support/crafted-report.js'

const one = (name: string, runs: number[]) => report([section('azoth', [measured(name, side(runs))])])

const dir = mkdtempSync(join(tmpdir(), 'azoth-bench-compare-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
function save(value: BenchReport | string): string {
  const path = join(dir, `r${++files}.json`)
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value))
  return path
}

async function run(...args: string[]) {
  let out = ''
  let err = ''
  const code = await compareMain(args, { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) })
  return { code, out, err }
}

describe('bench:compare', () => {
  it('flags a median that fell by more than both runs moved', () => {
    const c = compareReports(one('commit', [990, 1000, 1010]), one('commit', [790, 800, 810]))
    expect(c.cases).toEqual([
      expect.objectContaining({ id: 'azoth › commit', verdict: 'regressed', noise: 0.05 }),
    ])
    expect(c.cases[0]!.change).toBeCloseTo(-0.2)
    expect(hasRegression(c)).toBe(true)
  })

  it('does not flag a drop smaller than the spread either run measured', () => {
    // The old runs spread over ±20%: a 15% lower median is noise.
    const c = compareReports(one('commit', [800, 1000, 1200]), one('commit', [840, 850, 860]))
    expect(c.cases[0]).toMatchObject({ verdict: 'unchanged' })
    expect(c.cases[0]!.noise).toBeCloseTo(0.4)
    // The new run's own spread counts too; the same drop between two steady runs is a regression.
    expect(
      compareReports(one('commit', [990, 1000, 1010]), one('commit', [700, 850, 1000])).cases[0],
    ).toMatchObject({
      verdict: 'unchanged',
    })
    expect(
      hasRegression(compareReports(one('commit', [999, 1000, 1001]), one('commit', [849, 850, 851]))),
    ).toBe(true)
  })

  it('keeps a noise floor for runs that happened to agree', () => {
    expect(compareReports(one('x', [1000, 1000]), one('x', [970, 970])).cases[0]!.verdict).toBe('unchanged')
    expect(compareReports(one('x', [1000, 1000]), one('x', [940, 940])).cases[0]!.verdict).toBe('regressed')
    expect(compareReports(one('x', [1000, 1000]), one('x', [940, 940]), 0.1).cases[0]!.verdict).toBe(
      'unchanged',
    )
    expect(compareReports(one('x', [1000, 1000]), one('x', [1100, 1100])).cases[0]!.verdict).toBe('improved')
  })

  it('lists cases present in one report only without failing, and fails a case that stopped producing a figure', () => {
    const before = report([section('a', [measured('kept', side([100])), measured('gone', side([100]))])])
    const after = report([
      section('a', [measured('kept', side([100]))]),
      section('b', [measured('new', side([100]))]),
    ])
    const c = compareReports(before, after)
    expect(c.onlyInOld).toEqual(['a › gone'])
    expect(c.onlyInNew).toEqual(['b › new'])
    expect(hasRegression(c)).toBe(false)
    const broken = report([
      section('a', [
        { name: 'kept', unit: 'tx', params: {}, processMaxRssBytes: 0, error: 'IO: disk on fire' },
      ]),
    ])
    const failed = compareReports(before, broken)
    expect(failed.failedNow).toEqual([{ id: 'a › kept', error: 'IO: disk on fire' }])
    expect(hasRegression(failed)).toBe(true)
  })

  it('warns when the runs were made in different modes or on different machines', () => {
    const quick = one('x', [100])
    expect(compareReports(quick, quick).warnings).toEqual([])
    const full = { ...quick, options: { ...quick.options, quick: false } }
    expect(compareReports(quick, full).warnings).toEqual([expect.stringContaining('one report is --quick')])
    const other = { ...quick, machine: { ...quick.machine, cpuCount: 64 } }
    expect(compareReports(quick, other).warnings).toEqual([
      expect.stringContaining('Fixture CPU 9000 × 2, Node v20.99.0 vs Fixture CPU 9000 × 64'),
    ])
  })

  it('exits 1 and prints the regressed figure in a table, 0 when nothing regressed', async () => {
    const old = save(one('commit', [990, 1000, 1010]))
    const slower = await run(old, save(one('commit', [700, 710, 720])))
    expect(slower.code).toBe(1)
    expect(slower.out).toMatch(/azoth › commit .*1\.00k tx\/s.*710 tx\/s.*-29\.0%.*±5\.0%.*REGRESSED/)
    expect(slower.out).toContain('1 cases compared: 1 regressed, 0 improved, 0 within the noise.')
    const same = await run(old, save(one('commit', [980, 1000, 1020])))
    expect(same.code).toBe(0)
    expect(same.out).not.toContain('REGRESSED')
    expect(same.out).toContain('1 within the noise')
  })

  it('exits 2 with a clear message on a missing file, a file that is not a report, or another schema version', async () => {
    const good = save(one('commit', [1000]))
    const missing = await run(good, join(dir, 'missing.json'))
    expect(missing).toMatchObject({ code: 2 })
    expect(missing.err).toMatch(/cannot read bench results .*missing\.json/)
    const notJson = await run(save('{ nope'), good)
    expect(notJson.code).toBe(2)
    expect(notJson.err).toMatch(/is not JSON/)
    const notReport = await run(good, save('{"hello": "world"}'))
    expect(notReport.code).toBe(2)
    expect(notReport.err).toMatch(/is not a bench report/)
    const future = await run(save({ ...one('commit', [1000]), schemaVersion: 2 as 1 }), good)
    expect(future.code).toBe(2)
    expect(future.err).toMatch(/schema version 2; this tool reads version 1/)
    expect((await run(good)).code).toBe(2)
    expect((await run(good, good, '--noise-floor', 'lots')).code).toBe(2)
  })

  it('sets the process exit code when run as a command', async () => {
    const script = new URL('../src/report/compare-cli.ts', import.meta.url)
    const old = save(one('commit', [1000, 1000]))
    const regressed = await runTypeScript(script, [old, save(one('commit', [500, 500]))])
    expect(regressed.code, regressed.stderr).toBe(1)
    const bad = await runTypeScript(script, [old, join(dir, 'nothing.json')])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('cannot read bench results')
  })
})
