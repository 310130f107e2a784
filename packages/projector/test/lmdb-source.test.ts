import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteProjectionStore } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BALANCES_DDL, balancesHandler } from './support/balances.js'
import { until } from './support/wait.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-projector-lmdb-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('with the LMDB canonical store as the event source', () => {
  it('catches up, follows commits in continuous mode, and dead-letters a failing event', async () => {
    const canonical = await openLmdbStore(join(dir, 'canonical'), { durability: 'relaxed' })
    const store = SqliteProjectionStore.open({ path: join(dir, 'projection.db') })
    await store.transaction((tx) => tx.exec(BALANCES_DDL))
    try {
      await canonical.commit((tx) => {
        for (let i = 1; i <= 500; i++) tx.appendEvent('Deposited', { account: `a${i % 7}`, amount: i })
        tx.appendEvent('Other', {})
      })
      const p = Projector.builder(canonical, store)
        .withName('balances')
        .withHandler(balancesHandler(new Set([600])))
        .withErrorStrategy(ErrorStrategy.deadLetter())
        .withBatch({ maxEvents: 64, maxLatencyMs: 0 })
        .build()
      expect(await p.runOnce()).toMatchObject({ cursor: 501, events: 501 })
      p.start()
      const commits = []
      for (let i = 0; i < 20; i++) {
        commits.push(
          canonical.commit((tx) => {
            for (let j = 0; j < 10; j++) tx.appendEvent('Deposited', { account: 'late', amount: 1 })
          }),
        )
      }
      await Promise.all(commits)
      await until(() => p.position === 701)
      await p.stop()
      const rows = await store.query<{ amount: number }>("SELECT amount FROM balances WHERE account = 'late'")
      expect(rows).toEqual([{ amount: 199 }])
      expect((await p.deadLetters.list()).map((d) => d.eventId)).toEqual([600])
      const [total] = await store.query<{ n: number }>('SELECT sum(events) AS n FROM balances')
      expect(total?.n).toBe(699)
    } finally {
      await store.close()
      await canonical.close()
    }
  })
})
