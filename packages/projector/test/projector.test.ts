import { type AzothEvent, type EventHandler, encodeEnvelope, isAzothError } from '@azothdb/core'
import type { SqliteTx } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector, ProjectorGroup } from '@azothdb/projector'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { balancesHandler } from './support/balances.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
})
afterEach(async () => {
  await f.cleanup()
})

describe('Projector.runOnce', () => {
  it('applies everything up to the head in batches, ignores unknown types, stores the cursor', async () => {
    appendDeposits(f.source, 95)
    const handler = balancesHandler()
    const p = Projector.builder(f.source, f.store)
      .withName('balances')
      .withHandler(handler)
      .withBatch({ maxEvents: 10 })
      .build()
    const progress: number[] = []
    const stats = await p.runOnce({ onProgress: (x) => progress.push(x.cursor) })
    expect(stats).toMatchObject({
      from: 0,
      cursor: 95,
      target: 95,
      events: 95,
      batches: 10,
      stoppedBy: 'caughtUp',
    })
    expect(progress).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
    expect(handler.calls).toBe(95 - 9)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    expect(await f.store.getCursor('balances')).toBe(95)
    expect(p.metrics()).toMatchObject({
      cursor: 95,
      head: 95,
      lag: 0,
      eventsApplied: 95,
      batches: 10,
      errors: 0,
    })
    // Nothing new: nothing applied; new events continue from the cursor.
    expect((await p.runOnce()).events).toBe(0)
    appendDeposits(f.source, 5)
    expect(await p.runOnce()).toMatchObject({ from: 95, cursor: 100, events: 5 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
  })

  it('caps batches by bytes (one oversized event still forms a batch)', async () => {
    appendDeposits(f.source, 20)
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler()],
      batch: { maxBytes: 1 },
    })
    expect(await p.runOnce()).toMatchObject({ events: 20, batches: 20 })
  })

  it('a new processor instance resumes from the stored cursor; runs never overlap', async () => {
    appendDeposits(f.source, 50)
    const a = new Projector({ source: f.source, store: f.store, handlers: [balancesHandler()] })
    const [r1, r2] = await Promise.all([a.runOnce(), a.runOnce()])
    expect(r1.events + r2.events).toBe(50)
    appendDeposits(f.source, 30)
    const b = new Projector({ source: f.source, store: f.store, handlers: [balancesHandler()] })
    expect(await b.runOnce()).toMatchObject({ from: 50, cursor: 80 })
    // `a` still believes its cursor is 50: it must follow the stored cursor, not apply 51..80 again.
    appendDeposits(f.source, 10)
    const stats = await a.runOnce()
    expect(stats.cursor).toBe(90)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
  })

  it('stops at the seal', async () => {
    appendDeposits(f.source, 30)
    f.source.sealedAt = 20
    const p = new Projector({ source: f.source, store: f.store, handlers: [balancesHandler()] })
    expect(await p.runOnce()).toMatchObject({ cursor: 20, target: 20 })
  })

  it('handleBatch gets whole batches; a failing batch falls back to handle per event', async () => {
    appendDeposits(f.source, 25)
    const batches: number[][] = []
    let failBatch = true
    const handler: EventHandler<SqliteTx> = {
      eventTypes: ['Deposited'],
      handle: (event, tx) => {
        tx.run('INSERT INTO balances VALUES (?, ?, 1)', [`e${event.id}`, 1])
      },
      handleBatch: (events: readonly AzothEvent[], tx) => {
        batches.push(events.map((e) => e.id))
        for (const e of events) tx.run('INSERT INTO balances VALUES (?, ?, 1)', [`e${e.id}`, 1])
        if (failBatch) {
          failBatch = false
          throw new Error('batch path broken')
        }
      },
    }
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [handler],
      batch: { maxEvents: 10 },
    })
    await p.runOnce()
    // First batch failed (rolled back) and went event by event; the other two used handleBatch.
    expect(batches.map((b) => b.length)).toEqual([9, 9, 5])
    expect((await f.store.query<{ n: number }>('SELECT count(*) AS n FROM balances'))[0]!.n).toBe(23)
    expect(p.metrics().slowBatches).toBe(1)
  })

  it('awaits asynchronous handlers inside the transaction', async () => {
    appendDeposits(f.source, 12)
    const handler: EventHandler<SqliteTx> = {
      eventTypes: '*',
      async handle(event, tx) {
        await new Promise((r) => setImmediate(r))
        tx.run('INSERT INTO balances VALUES (?, ?, 1)', [`e${event.id}`, event.id])
        if (event.id === 7) throw new Error('async failure')
      },
    }
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [handler],
      errorStrategy: ErrorStrategy.logAndSkip(),
      batch: { maxEvents: 5 },
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 12, skipped: 1 })
    const rows = await f.store.query<{ account: string }>('SELECT account FROM balances ORDER BY amount')
    expect(rows.map((r) => r.account)).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12].map((i) => `e${i}`))
  })

  it('runs every handler of every event in order when one of them turns asynchronous mid-batch', async () => {
    for (let i = 1; i <= 9; i++) f.source.append(i % 3 === 0 ? 'Slow' : 'Fast', i)
    const seen: string[] = []
    const record = (name: string) => (e: AzothEvent) => {
      seen.push(`${name}${e.id}`)
    }
    const handlers: EventHandler<SqliteTx>[] = [
      { name: 'first', eventTypes: ['Fast'], handle: record('a') },
      {
        name: 'slow',
        eventTypes: ['Slow'],
        async handle(e) {
          await new Promise((r) => setImmediate(r))
          seen.push(`s${e.id}`)
        },
      },
      { name: 'after', eventTypes: '*', handle: record('z') },
    ]
    const p = new Projector({ source: f.source, store: f.store, handlers, batch: { maxEvents: 9 } })
    expect(await p.runOnce()).toMatchObject({ cursor: 9, batches: 1 })
    expect(p.metrics().slowBatches).toBe(0)
    const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((i) =>
      i % 3 === 0 ? [`s${i}`, `z${i}`] : [`a${i}`, `z${i}`],
    )
    expect(seen).toEqual(expected)
  })

  it('routes by type and runs several handlers of one type in order; a handler may take all types', async () => {
    f.source.append('A', 1)
    f.source.append('B', 2)
    const seen: string[] = []
    const mk = (name: string, eventTypes: readonly string[] | '*'): EventHandler<SqliteTx> => ({
      name,
      eventTypes,
      handle: (e) => {
        seen.push(`${name}:${e.type}`)
      },
    })
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [mk('h1', ['A']), mk('all', '*'), mk('h2', ['A', 'B'])],
    })
    await p.runOnce()
    expect(seen).toEqual(['h1:A', 'all:A', 'h2:A', 'all:B', 'h2:B'])
  })

  it('refuses bad configuration with CONFIG', () => {
    const base = { source: f.source, store: f.store, handlers: [balancesHandler()] }
    const bad: unknown[] = [
      { ...base, handlers: [] },
      { ...base, name: '' },
      { ...base, batch: { maxEvents: 0 } },
      { ...base, batch: { maxLatencyMs: -1 } },
      { ...base, typo: true },
      { ...base, handlers: [{ eventTypes: '*' }] },
      { ...base, circuitBreaker: { failureThreshold: 0 } },
      { ...base, deadLetterQueue: { maxAttempts: 0 } },
    ]
    for (const options of bad) {
      expect(() => new Projector(options as never)).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    }
    expect(() => ErrorStrategy.retryWithBackoff({ maxRetries: -1 })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    )
  })

  it('fails with PROJECTION_FAILED when the source lacks an event', async () => {
    const p = new Projector({ source: f.source, store: f.store, handlers: [balancesHandler()] })
    await f.store.transaction((tx) => tx.setCursor('default', 0))
    const broken = Object.create(f.source) as typeof f.source
    broken.head = () => 3
    await expect(
      new Projector({ source: broken, store: f.store, handlers: [balancesHandler()] }).runOnce(),
    ).rejects.toSatisfy((e) => isAzothError(e, 'PROJECTION_FAILED'))
    expect(p.position).toBe(-1)
  })

  it('refuses a cursor ahead of the source head (another history) with PROJECTION_FAILED', async () => {
    appendDeposits(f.source, 5)
    await f.store.transaction((tx) => tx.setCursor('default', 50))
    const p = new Projector({ source: f.source, store: f.store, handlers: [balancesHandler()] })
    await expect(p.runOnce()).rejects.toSatisfy((e) => isAzothError(e, 'PROJECTION_FAILED'))
    expect(await balances(f.store)).toEqual([])
  })

  it('a corrupt event meets the error strategy like a failing handler', async () => {
    appendDeposits(f.source, 3)
    const bad = encodeEnvelope({ type: 'Deposited', payload: 1, timestamp: 0 })
    bad[0] = 99 // unknown format version
    f.source.appendBytes(bad)
    appendDeposits(f.source, 2)
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler()],
      errorStrategy: ErrorStrategy.deadLetter(),
    })
    expect(await p.runOnce()).toMatchObject({ cursor: 6, deadLettered: 1 })
    const [row] = await p.deadLetters.list()
    expect(row).toMatchObject({ eventId: 4, eventType: '(unreadable)' })
    expect(p.metrics().lastError?.code).toBe('CORRUPTION')
  })

  it('rebuild resets the tables and dead letters, then replays from 1 with progress', async () => {
    appendDeposits(f.source, 40)
    const failing = new Set([5])
    const p = new Projector({
      source: f.source,
      store: f.store,
      handlers: [balancesHandler(failing)],
      errorStrategy: ErrorStrategy.deadLetter(),
      batch: { maxEvents: 16 },
    })
    await p.runOnce()
    expect(await p.deadLetters.count()).toBe(1)
    failing.clear()
    const progress: number[] = []
    const stats = await p.rebuild({ onProgress: (x) => progress.push(x.cursor) })
    expect(stats).toMatchObject({ from: 0, cursor: 40, events: 40 })
    expect(progress).toEqual([16, 32, 40])
    expect(await p.deadLetters.count()).toBe(0)
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    const noReset: EventHandler<SqliteTx> = { eventTypes: '*', handle: () => undefined }
    await expect(
      new Projector({ source: f.source, store: f.store, name: 'x', handlers: [noReset] }).rebuild(),
    ).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
  })

  it('several projectors keep their own cursors in one file', async () => {
    appendDeposits(f.source, 30)
    await f.store.transaction((tx) =>
      tx.exec('CREATE TABLE counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL)'),
    )
    const counter: EventHandler<SqliteTx> = {
      eventTypes: '*',
      handle: (e, tx) => {
        tx.run('INSERT INTO counts VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1', [e.type])
      },
    }
    const a = new Projector({
      source: f.source,
      store: f.store,
      name: 'balances',
      handlers: [balancesHandler()],
    })
    const b = new Projector({ source: f.source, store: f.store, name: 'counts', handlers: [counter] })
    await a.runOnce()
    appendDeposits(f.source, 10)
    const group = new ProjectorGroup([a, b])
    const stats = await group.runOnce()
    expect([stats['balances']?.events, stats['counts']?.events]).toEqual([10, 40])
    expect(await f.store.cursors()).toEqual({ balances: 40, counts: 40 })
    expect(await f.store.query('SELECT type, n FROM counts ORDER BY type')).toEqual([
      { type: 'Deposited', n: 36 },
      { type: 'Unrelated', n: 4 },
    ])
    expect(group.metrics().map((m) => [m.name, m.cursor, m.lag])).toEqual([
      ['balances', 40, 0],
      ['counts', 40, 0],
    ])
    // Rebuilding one projection by name leaves the other alone.
    await f.store.transaction((tx) => tx.run("UPDATE balances SET amount = -1 WHERE account = 'a1'"))
    expect(await group.rebuild('balances')).toMatchObject({ from: 0, cursor: 40 })
    expect(await balances(f.store)).toEqual(expectedBalances(f.source))
    expect(await f.store.cursors()).toEqual({ balances: 40, counts: 40 })
    expect(() =>
      group.add(new Projector({ source: f.source, store: f.store, name: 'counts', handlers: [counter] })),
    ).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    expect(() => group.get('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }))
  })
})
