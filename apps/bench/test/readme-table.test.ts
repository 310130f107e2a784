import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import {
  BENCH_END,
  BENCH_START,
  parseReport,
  renderBenchSection,
  replaceBenchSection,
  sectionTable,
} from '../src/readme-table.js'

const fixturePath = fileURLToPath(new URL('./readme-table-fixture.json', import.meta.url))
const report = parseReport(readFileSync(fixturePath, 'utf8'), fixturePath)
const body = renderBenchSection(report)

describe('README performance tables', () => {
  it('states the machine and Node version with every section', () => {
    const machine = 'Machine: Fixture CPU 9000, 2 cores, 24 GiB · Node v20.99.0 (linux x64)'
    // Once in the header, once per section.
    expect(body.split(machine).length - 1).toBe(1 + report.sections.length)
    expect(body).toContain('from the run of 2026-01-02T03:04:05.000Z at commit `0123456789`')
    expect(body).toContain('full mode; median of 5 timed runs after 2 warm-up')
  })

  it('gives ours, raw, ratio and the standard parameters of every figure', () => {
    expect(body).toContain(
      '| workload | ours | raw | ratio | event size | events/tx | durability | concurrency | other params | target |',
    )
    expect(body).toContain(
      '| transfer \\| requireMin | 12,346 tx/s | 15,000 tx/s | 0.82× | 256 B | 1 | sync | 64 | accounts=1000 | ratio ≥ 0.8: met |',
    )
    expect(body).toContain(
      '| TypedValue encode (mix) | 829,502 values/s | 2,264,486 values/s | 0.37× | n/a | n/a | n/a | n/a | kinds=i64,u256, values=2000 |',
    )
    expect(body).toContain('| backup | 55.5 MB/s | — | — | n/a | n/a | relaxed | n/a | — | — |')
    // A parameter under another name than the column's usual one is named.
    expect(body).toContain('| 64 B (payloadBytes) | 8 (eventsPerCommit) | NORMAL (synchronous) |')
  })

  it("gives both sides' peak RSS for the cases that show memory, and no such column elsewhere", () => {
    expect(body).not.toContain('peak RSS')
    const side = (ops: number, rss: number) => ({
      medianOpsPerSec: ops,
      minOpsPerSec: ops,
      maxOpsPerSec: ops,
      samples: [],
      peakRssBytes: rss,
    })
    const base = { unit: 'events', params: {}, processMaxRssBytes: 0 }
    const table = sectionTable(
      {
        name: 'memory',
        description: 'd',
        cases: [
          { ...base, name: 'plain', ours: side(10, 1) },
          {
            ...base,
            name: 'catch-up',
            ours: side(10, 197 * 2 ** 20),
            raw: side(20, 150.4 * 2 ** 20),
            ratio: 0.5,
            showsMemory: true,
          },
        ],
      },
      'Machine: m.',
    )
    expect(table).toContain('| other params | peak RSS (ours / raw) |')
    expect(table).toContain('| plain | 10.0 events/s | — | — | n/a | n/a | n/a | n/a | — | — |')
    expect(table).toContain('| 0.50× | n/a | n/a | n/a | n/a | — | 197 MiB / 150 MiB |')
  })

  it('reports failed cases and sections instead of hiding them', () => {
    expect(body).toContain(
      '| crashing case | failed: IO: disk on fire | — | — | n/a | n/a | n/a | 1 | — | — |',
    )
    expect(body).toContain('Section failed: cannot import sections/broken.ts')
  })

  it('replaces only what lies between the markers, and is idempotent', () => {
    const readme = `# Title\n\n## Performance\n\n${BENCH_START}\nold table\n${BENCH_END}\n\n## After\n`
    const once = replaceBenchSection(readme, body)
    expect(once).not.toContain('old table')
    expect(once.startsWith('# Title\n\n## Performance\n\n')).toBe(true)
    expect(once.endsWith(`${BENCH_END}\n\n## After\n`)).toBe(true)
    expect(replaceBenchSection(once, body)).toBe(once)
  })

  it('refuses a README without the markers', () => {
    expect(() => replaceBenchSection('# no markers\n', body)).toThrow(/bench:start/)
  })

  it('refuses JSON that is not a bench report', () => {
    expect(() => parseReport('{"schemaVersion": 2}', 'x.json')).toThrow(/not a bench report/)
  })

  describe('the command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'azoth-readme-table-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))
    const script = new URL('../src/readme-table.ts', import.meta.url)

    it('rewrites the README file in place from the results file', async () => {
      const readme = join(dir, 'README.md')
      writeFileSync(readme, `intro\n${BENCH_START}\n${BENCH_END}\noutro\n`)
      const result = await runTypeScript(script, ['--results', fixturePath, '--readme', readme])
      expect(result.code, result.stderr).toBe(0)
      const text = readFileSync(readme, 'utf8')
      expect(text).toBe(`intro\n${BENCH_START}\n${body}\n${BENCH_END}\noutro\n`)
    })

    it('exits 1 with a hint when there are no results', async () => {
      const failed = await runTypeScript(script, [
        '--results',
        join(dir, 'missing.json'),
        '--readme',
        join(dir, 'README.md'),
      ])
      expect(failed.code).toBe(1)
      expect(failed.stderr).toContain('run `pnpm bench` first')
    })
  })
})
