import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseReport } from '../src/report/load-report.js'
import { sectionTable } from '../src/report/markdown-table.js'

const fixturePath = fileURLToPath(new URL('./markdown-table-fixture.json', import.meta.url))
const report = parseReport(readFileSync(fixturePath, 'utf8'), fixturePath)
const tables = report.sections.map((s) => sectionTable(s)).join('\n')

describe('markdown tables of a section', () => {
  it('gives ours, raw, ratio, the standard parameters, the runs and the target verdict of every figure', () => {
    expect(tables).toContain(
      '| workload | ours | raw | ratio | event size | events/tx | durability | concurrency | other params | runs min–max /s, extra | target |',
    )
    expect(tables).toMatch(
      /\| transfer \\\| requireMin \| 12,346 tx\/s \| 15,000 tx\/s \| 0\.82× \| 256 B \| 1 \| sync \| 64 \| accounts=1000 \| ours [\d,]+–[\d,]+; raw [\d,]+–[\d,]+ \| ratio ≥ 0\.8: met \|/,
    )
    expect(tables).toContain(
      '| TypedValue encode (mix) | 829,502 values/s | 2,264,486 values/s | 0.37× | n/a | n/a | n/a | n/a | kinds=i64,u256, values=2000 |',
    )
    expect(tables).toContain('| backup | 55.5 MB/s | — | — | n/a | n/a | relaxed | n/a | — |')
    // A parameter under another name than the column's usual one is named.
    expect(tables).toContain('| 64 B (payloadBytes) | 8 (eventsPerCommit) | NORMAL (synchronous) |')
  })

  it('says MISSED in capitals and prints what a side reported beside its runs', () => {
    const side = (ops: number, extra?: Record<string, string>) => ({
      medianOpsPerSec: ops,
      minOpsPerSec: ops - 1,
      maxOpsPerSec: ops + 1,
      samples: [],
      peakRssBytes: 0,
      ...(extra === undefined ? {} : { extra }),
    })
    const table = sectionTable({
      name: 's',
      description: 'd',
      cases: [
        {
          name: 'slow',
          unit: 'tx',
          params: {},
          processMaxRssBytes: 0,
          ours: side(500, { p50: '1.50ms', p99: '9.00ms' }),
          raw: side(1000),
          ratio: 0.5,
          target: { minRatio: 0.7 },
          targetMet: false,
        },
      ],
    })
    expect(table).toContain('| ours 499–501, p50 1.50ms, p99 9.00ms; raw 999–1,001 | ratio ≥ 0.7: MISSED |')
  })

  it("gives both sides' peak RSS for the cases that show memory, and no such column elsewhere", () => {
    expect(tables).not.toContain('peak RSS')
    const side = (ops: number, rss: number) => ({
      medianOpsPerSec: ops,
      minOpsPerSec: ops,
      maxOpsPerSec: ops,
      samples: [],
      peakRssBytes: rss,
    })
    const base = { unit: 'events', params: {}, processMaxRssBytes: 0 }
    const table = sectionTable({
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
    })
    expect(table).toContain('| other params | runs min–max /s, extra | peak RSS (ours / raw) |')
    expect(table).toContain(
      '| plain | 10.0 events/s | — | — | n/a | n/a | n/a | n/a | — | ours 10.0–10.0 | — |',
    )
    expect(table).toContain(
      '| 0.50× | n/a | n/a | n/a | n/a | — | ours 10.0–10.0; raw 20.0–20.0 | 197 MiB / 150 MiB |',
    )
  })

  it('reports failed cases and sections instead of hiding them', () => {
    expect(tables).toContain(
      '| crashing case | failed: IO: disk on fire | — | — | n/a | n/a | n/a | 1 | — | — | — |',
    )
    expect(tables).toContain('Section failed: cannot import sections/broken.ts')
  })
})
