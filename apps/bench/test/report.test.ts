import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { renderBenchmarksMd } from '../src/report/benchmarks-md.js'
import { loadReport } from '../src/report/load-report.js'
import { renderPlots } from '../src/report/plots.js'
import {
  BENCH_END,
  BENCH_START,
  renderReadmeSection,
  replaceBenchSection,
} from '../src/report/readme-section.js'
import { reportMain } from '../src/report/report-cli.js'
import { measured, plottedSections, report, section, side } from './support/crafted-report.js'

const crafted = report(plottedSections())
const dir = mkdtempSync(join(tmpdir(), 'azoth-bench-report-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Parses an SVG document (throws on malformed XML) and returns every text it draws. */
function svgTexts(svg: string): string[] {
  const valid = XMLValidator.validate(svg)
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid.err)}`)
  const doc = new XMLParser({ ignoreAttributes: false }).parse(svg) as Record<string, unknown>
  expect(Object.keys(doc)).toContain('svg')
  const texts: string[] = []
  const walk = (node: unknown, inText: boolean) => {
    if (typeof node === 'string' || typeof node === 'number') {
      if (inText) texts.push(String(node))
    } else if (Array.isArray(node)) for (const n of node) walk(n, inText)
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, inText || k === 'text')
    }
  }
  walk(doc, false)
  return texts
}

function newRoot(): string {
  const root = mkdtempSync(join(dir, 'root-'))
  writeFileSync(
    join(root, 'README.md'),
    `# Title\n\n## Performance\n\n${BENCH_START}\nold figures\n${BENCH_END}\n\n## After\n`,
  )
  return root
}

describe('BENCHMARKS.md', () => {
  const md = renderBenchmarksMd(crafted, [
    { title: 'Throughput vs callers', caption: 'how to read it', path: 'docs/benchmarks/callers.svg' },
    {
      title: 'Figures vs data size',
      caption: 'c',
      path: 'docs/benchmarks/scale.svg',
      absent: 'no scale section.',
    },
  ])

  it('states the machine, OS, Node, disk and the fsync latency measured in the run', () => {
    expect(md).toContain('| CPU | Fixture CPU 9000, 2 logical cores |')
    expect(md).toContain('| memory | 24.0 GiB |')
    expect(md).toContain('| OS / kernel | Fixture Linux 1 / 9.9.9-fixture (x64) |')
    expect(md).toContain('| Node | v20.99.0 |')
    expect(md).toMatch(
      /\| disk \| ext4 on \/dev\/fixture0, mounted at `\/`, temp dir `\/tmp`, rotational: no/,
    )
    expect(md).toContain('| fsync latency (measured in this run) | p50 271 µs, p99 1234 µs')
    expect(md).toContain('`0123456789abcdef0123456789abcdef01234567`')
    expect(md).toContain('quick (smaller workloads); 3 timed runs per side after 1 warm-up')
  })

  it('lists every missed target with its figure and target, and every workload that gave no figure', () => {
    const shortfall = md.slice(md.indexOf('## Where we fall short'), md.indexOf('## Plots'))
    expect(shortfall).toContain(
      '- **reads** › db.events() over 200,000 events, payload not read: 1,020,000 events/s; target ≥ 3,000,000 events/s — MISSED',
    )
    expect(shortfall).toContain(
      '- **single-caller** › one caller, relaxed: Transaction API, 1 key + 1 event per tx (lmdb log) vs noMetaSync: 2,825 tx/s (ratio 0.81× of raw); target ≥ 15,000 tx/s — MISSED',
    )
    expect(shortfall).toContain(
      '- **emmett** › Emmett appendToStream: 64 concurrent appenders on distinct streams: no figure (failed: a call waited more than a minute)',
    )
    // Met targets are not shortfalls.
    expect(shortfall).not.toContain('awaiting callers')
    const allMet = renderBenchmarksMd(report([section('azoth', [measured('fine', side([10]))])]), [])
    expect(allMet).toContain('Every target of this run was met and every workload produced a figure.')
  })

  it('links the drawn plots, says why an absent one is missing, and keeps every section table', () => {
    expect(md).toContain(
      '[![Throughput vs callers](docs/benchmarks/callers.svg)](docs/benchmarks/callers.svg)',
    )
    expect(md).toContain('### Figures vs data size\n\nNot drawn: no scale section.')
    for (const s of crafted.sections) expect(md).toContain(`### ${s.name}\n\nthe ${s.name} section`)
    // Every setting of every side stays in the params.
    expect(md).toContain("| azoth=durability 'sync', sqlite=WAL, synchronous=FULL |")
  })
})

describe('plots', () => {
  it('draws throughput and p50/p99 latency vs callers for both sides', async () => {
    const plots = await renderPlots(crafted, 'docs/benchmarks')
    const callers = plots.find((p) => p.file === 'callers.svg')!
    const texts = svgTexts(callers.svg!)
    for (const label of [
      'Azoth (ours)',
      'raw lmdb-js',
      'latency per tx, ms (p50 solid, p99 dashed)',
      '256',
    ]) {
      expect(texts).toContain(label)
    }
    // p99 lines are the dashed ones: both sides have one.
    expect(callers.svg!.match(/stroke-dasharray="4,2"/g)?.length ?? 0).toBeGreaterThanOrEqual(2)
  })

  it('draws the peers as grouped bars and the published figures labelled as not measured here', async () => {
    const plots = await renderPlots(crafted, 'docs/benchmarks')
    const peers = plots.find((p) => p.file === 'peers.svg')!
    const texts = svgTexts(peers.svg!)
    for (const label of [
      'Azoth (vs SQLite run)',
      'Emmett SQLite',
      'published, not measured here',
      'measured here',
      'reference: Transaction API, single-threaded',
      '8,849 tx/s',
      '11,243 tx/s',
      'VarveDB: reads (zero-copy)',
      '2.3–2.9M events/s',
      'Azoth: db.events(), payload not read',
    ]) {
      expect(texts).toContain(label)
    }
    // The failed case has no peer bar, and the caption says so; the absent PostgreSQL section is named.
    expect(peers.outcome.caption).toContain('Not in these results: `emmett-postgres`.')
    expect(peers.outcome.caption).toContain('Emmett SQLite: Emmett appendToStream: 64 concurrent appenders')
  })

  it('skips the data-size plot with a sentence when the scale section is absent, and draws it when present', async () => {
    const without = await renderPlots(crafted, 'docs/benchmarks')
    const absent = without.find((p) => p.file === 'scale.svg')!
    expect(absent.svg).toBeUndefined()
    expect(absent.outcome.absent).toBe(
      'the `scale` section is absent from these results (not run, or not in this checkout).',
    )

    const scaleCase = (events: number, metric: string, rate: number) =>
      measured(`${metric} at ${events}`, side([rate]), { unit: 'ops', params: { events, metric } })
    const withScale = report([
      section(
        'scale',
        [10_000, 100_000, 1_000_000, 10_000_000].flatMap((n) => [
          scaleCase(n, 'commit', 5000),
          scaleCase(n, 'get', 1e6),
        ]),
      ),
    ])
    const plot = (await renderPlots(withScale, 'docs/benchmarks')).find((p) => p.file === 'scale.svg')!
    const texts = svgTexts(plot.svg!)
    expect(texts).toContain('commit (ops/s)')
    expect(texts).toContain('get (ops/s)')
    expect(texts).toContain('events in the database')
  })
})

describe('the README Performance section', () => {
  const body = renderReadmeSection(crafted, 'BENCHMARKS.md')

  it('gives the headline figures, the target count and a link to BENCHMARKS.md', () => {
    expect(body).toContain('| Transaction API, 1 caller | 1,000 tx/s | 1,250 tx/s | 0.80× | sync | met |')
    expect(body).toContain(
      '| Transaction API, 256 callers | 256,000 tx/s | 320,000 tx/s | 0.80× | sync | met |',
    )
    expect(body).toContain("| One caller, 'relaxed' | 2,825 tx/s | 3,500 tx/s | 0.81× | relaxed | MISSED |")
    expect(body).toContain('| Emmett API on Azoth vs Emmett SQLite: appendToStream: sequential')
    expect(body).toContain('Targets: 5 met, 2 missed.')
    expect(body).toContain('[BENCHMARKS.md](BENCHMARKS.md)')
    expect(body).toContain('fdatasync p50 271 µs / p99 1234 µs')
  })

  it('replaces only what lies between the markers, is idempotent, and refuses a README without them', () => {
    const readme = `# Title\n\n## Performance\n\n${BENCH_START}\nold table\n${BENCH_END}\n\n## After\n`
    const once = replaceBenchSection(readme, body)
    expect(once).not.toContain('old table')
    expect(once.startsWith('# Title\n\n## Performance\n\n')).toBe(true)
    expect(once.endsWith(`${BENCH_END}\n\n## After\n`)).toBe(true)
    expect(replaceBenchSection(once, body)).toBe(once)
    expect(() => replaceBenchSection('# no markers\n', body)).toThrow(/bench:start/)
  })
})

describe('pnpm bench:report', () => {
  const io = () => {
    const lines = { out: '', err: '' }
    return { lines, out: (t: string) => (lines.out += `${t}\n`), err: (t: string) => (lines.err += `${t}\n`) }
  }
  const sectionsDir = fileURLToPath(new URL('./fixtures/sections/', import.meta.url))

  it('--from renders BENCHMARKS.md, the SVGs, results.json and the README from saved results, running nothing', async () => {
    const root = newRoot()
    const saved = join(root, 'saved.json')
    writeFileSync(saved, JSON.stringify(crafted))
    // A stale plot of an earlier run must not survive when this run has nothing to draw in it.
    mkdirSync(join(root, 'docs/benchmarks'), { recursive: true })
    writeFileSync(join(root, 'docs/benchmarks/scale.svg'), '<svg/>')
    const { lines, out, err } = io()
    const code = await reportMain(['--from', saved, '--root', root], {
      root,
      sectionsDir,
      resultsDir: join(root, 'results'),
      runSection: () => Promise.reject(new Error('--from must not run sections')),
      out,
      err,
    })
    expect(code, lines.err).toBe(0)
    expect(readFileSync(join(root, 'BENCHMARKS.md'), 'utf8')).toContain('## Where we fall short')
    expect(await loadReport(join(root, 'docs/benchmarks/results.json'))).toEqual(crafted)
    expect(existsSync(join(root, 'docs/benchmarks/callers.svg'))).toBe(true)
    expect(existsSync(join(root, 'docs/benchmarks/peers.svg'))).toBe(true)
    expect(existsSync(join(root, 'docs/benchmarks/scale.svg'))).toBe(false)
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(readme).not.toContain('old figures')
    expect(readme).toContain('[BENCHMARKS.md](BENCHMARKS.md)')
    expect(readme.endsWith(`${BENCH_END}\n\n## After\n`)).toBe(true)
  })

  it('runs the chosen sections, adds the fsync and disk figures to the JSON it saves, and exits 1 when a section failed', async () => {
    const root = newRoot()
    const ran: string[] = []
    const { lines, out, err } = io()
    const code = await reportMain(['--quick', '--sections', 'alpha,beta', '--root', root], {
      root,
      sectionsDir,
      resultsDir: join(root, 'results'),
      runSection: async (file, options) => {
        ran.push(`${file.name}:${options.quick}:${options.runs}`)
        if (file.name === 'beta') throw new Error('the child died')
        return section(file.name, [measured('work', side([10, 12]))])
      },
      out,
      err,
    })
    expect(code, lines.err).toBe(1)
    expect(ran).toEqual(['alpha:true:2', 'beta:true:2'])
    const saved = await loadReport(join(root, 'docs/benchmarks/results.json'))
    expect(saved.fsync).toMatchObject({ writeBytes: 100, count: 300 })
    expect(saved.fsync!.p50Us).toBeGreaterThan(0)
    expect(saved.fsync!.p99Us).toBeGreaterThanOrEqual(saved.fsync!.p50Us)
    expect(saved.disk?.fsType).toEqual(expect.any(String))
    expect(saved.os?.kernel).toEqual(expect.any(String))
    expect(saved.sections.map((s) => [s.name, s.error])).toEqual([
      ['alpha', undefined],
      ['beta', 'the child died'],
    ])
    expect(await loadReport(join(root, 'results/latest.json'))).toEqual(saved)
    expect(readFileSync(join(root, 'BENCHMARKS.md'), 'utf8')).toContain(
      '- **beta**: the section stopped (the child died); no case finished',
    )
  })

  it('--section-timeout kills a section that never finishes, keeps the cases it finished, and still writes the report', async () => {
    const root = newRoot()
    const script = new URL('./fixtures/report-cli-isolated.ts', import.meta.url)
    const hangs = fileURLToPath(new URL('./fixtures/hangs/', import.meta.url))
    const record = join(root, 'section-tmpdir.txt')
    const run = await runTypeScript(script, [hangs, root, '--section-timeout', '0.025'], {
      env: { HANGS_TMPDIR_RECORD: record },
    })
    // The killed section's temp directory (its own cleanup never ran) is removed by the parent.
    const sectionTmpDir = readFileSync(record, 'utf8')
    expect(sectionTmpDir).toMatch(/azoth-bench-hangs-/)
    expect(existsSync(sectionTmpDir)).toBe(false)
    expect(run.code, run.stderr).toBe(1)
    const saved = await loadReport(join(root, 'docs/benchmarks/results.json'))
    expect(saved.sections[0]?.error).toMatch(/section 'hangs' did not finish within 1\.5 s and was killed/)
    expect(saved.sections[0]?.description).toBe('fixture: its second case never settles')
    expect(saved.sections[0]?.cases.map((c) => [c.name, (c.ours?.medianOpsPerSec ?? 0) > 0])).toEqual([
      ['quick', true],
    ])
    expect(readFileSync(join(root, 'BENCHMARKS.md'), 'utf8')).toContain(
      "- **hangs**: the section stopped (IO: the process running bench section 'hangs' did not finish within 1.5 s and was killed); 1 case finished before (in its table)",
    )
  }, 60_000)

  it('exits 2 on bad input and writes nothing', async () => {
    const root = newRoot()
    const env = (e: ReturnType<typeof io>) => ({
      root,
      sectionsDir,
      resultsDir: join(root, 'results'),
      runSection: () => Promise.reject(new Error('must not run')),
      out: e.out,
      err: e.err,
    })
    const unknown = io()
    expect(await reportMain(['--sections', 'nope'], env(unknown))).toBe(2)
    expect(unknown.lines.err).toContain("unknown bench section 'nope'")
    const missing = io()
    expect(await reportMain(['--from', join(root, 'missing.json')], env(missing))).toBe(2)
    expect(missing.lines.err).toContain('cannot read bench results')
    const mixed = io()
    expect(await reportMain(['--from', 'x.json', '--quick'], env(mixed))).toBe(2)
    expect(await reportMain(['--runs', '0'], env(io()))).toBe(2)
    expect(existsSync(join(root, 'BENCHMARKS.md'))).toBe(false)
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toContain('old figures')
    const saved = join(root, 'saved.json')
    writeFileSync(saved, JSON.stringify(crafted))
    writeFileSync(join(root, 'README.md'), '# a README without the markers\n')
    const noMarkers = io()
    expect(await reportMain(['--from', saved], env(noMarkers))).toBe(2)
    expect(noMarkers.lines.err).toContain('README.md needs <!-- bench:start -->')
    expect(existsSync(join(root, 'docs'))).toBe(false)
  })
})
