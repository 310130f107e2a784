import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Projector } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, type Fixture, makeFixture } from './support/fixture.js'
import { until } from './support/wait.js'

const run = promisify(execFile)
let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.cleanup()
})

describe('the sqlite3 shell', () => {
  it('reads a consistent projection while a projector writes', async () => {
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler()],
      batch: { maxLatencyMs: 0, maxEvents: 50 },
    })
    p.start()
    const seen = new Set<number>()
    let writing = true
    const writer = (async () => {
      while (writing) {
        appendDeposits(f.source, 200)
        await until(() => p.position === f.source.head())
      }
    })()
    try {
      for (let i = 0; i < 8; i++) {
        const { stdout } = await run('sqlite3', [
          f.path,
          "SELECT (SELECT event_id FROM _azoth_cursors WHERE projector = 'default'), " +
            '(SELECT coalesce(sum(events), 0) FROM balances)',
        ])
        const [cursor, applied] = stdout.trim().split('|').map(Number) as [number, number]
        // One snapshot: the rows hold exactly the Deposited events up to the cursor (every 10th is not one).
        expect(applied).toBe(cursor - Math.floor(cursor / 10))
        seen.add(cursor)
        await until(() => p.position > cursor)
      }
    } finally {
      writing = false
      await writer
      await p.stop()
    }
    expect(seen.size).toBeGreaterThan(1)
  })
})
