// Several projectors side by side, each in its own SQLite file, fed by one event source: each file
// holds only its own projector's cursor, tables and dead letters, and a group-level rebuild of one
// leaves the other file alone.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type EventHandler, ManualClock } from '@azothdb/core'
import { SqliteProjectionStore, type SqliteTx } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector, ProjectorGroup } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { BALANCES_DDL, balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances } from './support/fixture.js'
import { MemoryEventSource } from './support/memory-event-source.js'
import { until } from './support/wait.js'

const COUNTS_DDL = 'CREATE TABLE IF NOT EXISTS counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL)'

let dir: string
let source: MemoryEventSource
let balancesStore: SqliteProjectionStore
let countsStore: SqliteProjectionStore

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-projector-files-'))
  source = new MemoryEventSource()
  balancesStore = SqliteProjectionStore.open({ path: join(dir, 'balances.db') })
  countsStore = SqliteProjectionStore.open({ path: join(dir, 'counts.db') })
  await balancesStore.transaction((tx) => tx.exec(BALANCES_DDL))
  await countsStore.transaction((tx) => tx.exec(COUNTS_DDL))
})
afterEach(async () => {
  await balancesStore.close()
  await countsStore.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Counts events per type; fails on the ids in `failing`; counts its resets. */
function countsHandler(
  failing: ReadonlySet<number> = new Set(),
): EventHandler<SqliteTx> & { resets: number } {
  const handler = {
    name: 'counts',
    eventTypes: '*' as const,
    resets: 0,
    handle(e: { id: number; type: string }, tx: SqliteTx): void {
      tx.run('INSERT INTO counts VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1', [e.type])
      if (failing.has(e.id)) throw new Error(`counts fails on event ${e.id}`)
    },
    reset(tx: SqliteTx): void {
      handler.resets++
      tx.run('DELETE FROM counts')
    },
  }
  return handler
}

/** The counts a from-scratch projection of 1..head gives (without the ids in `without`). */
function expectedCounts(without: ReadonlySet<number> = new Set()): Array<{ type: string; n: number }> {
  let deposited = 0
  let unrelated = 0
  for (let id = 1; id <= source.head(); id++) {
    if (without.has(id)) continue
    if (id % 10 === 0) unrelated++
    else deposited++
  }
  return [
    { type: 'Deposited', n: deposited },
    { type: 'Unrelated', n: unrelated },
  ].filter((r) => r.n > 0)
}

async function counts(): Promise<Array<{ type: string; n: number }>> {
  return countsStore.query('SELECT type, n FROM counts ORDER BY type')
}

function group(counter = countsHandler(), clock = new ManualClock()) {
  const a = new Projector({
    source,
    store: balancesStore,
    name: 'balances',
    handlers: [balancesHandler()],
    batch: { maxEvents: 7, maxLatencyMs: 0 },
    clock,
  })
  const b = new Projector({
    source,
    store: countsStore,
    name: 'counts',
    handlers: [counter],
    errorStrategy: ErrorStrategy.deadLetter(),
    batch: { maxEvents: 11, maxLatencyMs: 0 },
    clock,
  })
  return { a, b, group: new ProjectorGroup([a, b]) }
}

describe('projectors in separate SQLite files', () => {
  it('keep independent cursors, each in its own file, and both reach the head', async () => {
    appendDeposits(source, 40)
    const { a, group: g } = group()
    // Only one has run: the other file knows nothing of it.
    expect(await a.runOnce()).toMatchObject({ from: 0, cursor: 40 })
    expect(await balancesStore.cursors()).toEqual({ balances: 40 })
    expect(await countsStore.cursors()).toEqual({})
    expect(g.metrics().map((m) => [m.name, m.cursor, m.lag])).toEqual([
      ['balances', 40, 0],
      ['counts', -1, 40],
    ])
    appendDeposits(source, 25)
    const stats = await g.runOnce()
    expect(stats['balances']).toMatchObject({ from: 40, cursor: 65, events: 25 })
    expect(stats['counts']).toMatchObject({ from: 0, cursor: 65, events: 65 })
    // Each file holds its own projector's cursor and only that one.
    expect(await balancesStore.cursors()).toEqual({ balances: 65 })
    expect(await countsStore.cursors()).toEqual({ counts: 65 })
    expect(await balances(balancesStore)).toEqual(expectedBalances(source))
    expect(await counts()).toEqual(expectedCounts())
    // Neither projection's table was created in, or written to, the other file.
    const tablesOf = async (s: SqliteProjectionStore) =>
      (
        await s.query<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_azoth\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
      ).map((r) => r.name)
    expect(await tablesOf(balancesStore)).toEqual(['balances'])
    expect(await tablesOf(countsStore)).toEqual(['counts'])
  })

  it('run continuously side by side: startAll follows new commits in both files until stopAll', async () => {
    const { group: g } = group()
    g.startAll()
    appendDeposits(source, 30)
    await until(() => g.metrics().every((m) => m.cursor === 30))
    appendDeposits(source, 12)
    await until(() => g.metrics().every((m) => m.cursor === 42 && m.lag === 0))
    await g.stopAll()
    expect(g.metrics().map((m) => m.state)).toEqual(['stopped', 'stopped'])
    expect(await balancesStore.cursors()).toEqual({ balances: 42 })
    expect(await countsStore.cursors()).toEqual({ counts: 42 })
    expect(await balances(balancesStore)).toEqual(expectedBalances(source))
    expect(await counts()).toEqual(expectedCounts())
  })

  it("rebuild of one leaves the other's tables, cursor and dead letters alone", async () => {
    appendDeposits(source, 50)
    const counter = countsHandler(new Set([33]))
    const { b, group: g } = group(counter)
    await g.runOnce()
    expect(await b.deadLetters.count()).toBe(1)
    const countsBefore = await counts()
    expect(countsBefore).toEqual(expectedCounts(new Set([33])))
    // Damage the balances projection, then rebuild it by name.
    await balancesStore.transaction((tx) => tx.run("UPDATE balances SET amount = -1 WHERE account = 'a2'"))
    appendDeposits(source, 5) // the other projector has not seen these: the rebuild must not feed it
    const progress: number[] = []
    const stats = await g.rebuild('balances', { onProgress: (p) => progress.push(p.cursor) })
    expect(stats).toMatchObject({ from: 0, cursor: 55, events: 55 })
    expect(progress).toEqual([7, 14, 21, 28, 35, 42, 49, 55])
    expect(await balances(balancesStore)).toEqual(expectedBalances(source))
    expect(await balancesStore.cursors()).toEqual({ balances: 55 })
    // The counts projection: not reset, not advanced, its dead letter kept.
    expect(counter.resets).toBe(0)
    expect(await countsStore.cursors()).toEqual({ counts: 50 })
    expect(await counts()).toEqual(countsBefore)
    expect((await b.deadLetters.list()).map((r) => [r.eventId, r.attempts])).toEqual([[33, 1]])
    expect(g.metrics().map((m) => [m.name, m.cursor, m.lag])).toEqual([
      ['balances', 55, 0],
      ['counts', 50, 5],
    ])
    // And the other way round.
    await g.rebuild('counts')
    expect(counter.resets).toBe(1)
    expect(await countsStore.cursors()).toEqual({ counts: 55 })
    expect(await counts()).toEqual(expectedCounts(new Set([33])))
    expect(await balancesStore.cursors()).toEqual({ balances: 55 })
    expect(await balances(balancesStore)).toEqual(expectedBalances(source))
  })
})
