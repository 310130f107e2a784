import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, type AzothEvent, ErrorStrategy, ManualClock, type SqliteTx, TypedValue } from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const TABLE = [
  { version: 1, name: 'seen', up: (tx: SqliteTx) => tx.exec('CREATE TABLE seen (id INTEGER PRIMARY KEY)') },
]

async function logEvents(db: Azoth, n: number, size = 200): Promise<void> {
  for (let i = 0; i < n; i++) {
    await db
      .writeBatch()
      .appendEvent('e', { i, pad: 'x'.repeat(size) })
      .commit()
  }
}

describe.each(['lmdb', 'file'] as const)('lifecycle (eventLog %s)', (eventLog) => {
  it('close stops a running projector and ends subscriptions; reopen resumes the projector', async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir, { eventLog })
    await db.migrate(TABLE)
    const handlers = [
      {
        eventTypes: '*' as const,
        handle: (e: AzothEvent, tx: SqliteTx) => {
          tx.run('INSERT INTO seen (id) VALUES (?)', [e.id])
        },
      },
    ]
    const projector = db.projector({ name: 'seen', handlers })
    projector.start()
    const feed = db.subscribe()
    const fed: number[] = []
    const reading = (async () => {
      for await (const e of feed) fed.push(e.id)
    })()
    await logEvents(db, 30)
    await db.close()
    await reading // the for-await loop ended with the database
    expect(fed.length).toBeLessThanOrEqual(30)
    expect(fed).toEqual(Array.from({ length: fed.length }, (_, i) => i + 1))
    await using reopened = await Azoth.open(dir, { eventLog })
    const again = reopened.projector({ name: 'seen', handlers })
    const stats = await again.runOnce()
    expect(stats.cursor).toBe(30)
    expect(await reopened.query('SELECT count(*) AS n FROM seen')).toEqual([{ n: 30 }])
  })

  it("a built projector joins the database's group: listed, looked up, run together, stopped by close", async () => {
    const clock = new ManualClock(1_000)
    const db = await Azoth.open(tempDir(), { eventLog, clock })
    await db.migrate(TABLE)
    const built = db
      .projectorBuilder()
      .withName('seen')
      .withHandler({
        eventTypes: '*',
        handle: (e, tx) => void tx.run('INSERT INTO seen (id) VALUES (?)', [e.id]),
      })
      .build()
    const other = db.projector({ name: 'other', handlers: [{ eventTypes: '*', handle: () => {} }] })
    expect(db.projectors.names).toEqual(['seen', 'other'])
    expect(db.projector({ name: 'seen' })).toBe(built)
    expect(db.projectors.get('other')).toBe(other)
    // One name, one cursor: neither way of making a projector may reuse a name.
    expect(() =>
      db
        .projectorBuilder()
        .withName('other')
        .withHandler({ eventTypes: '*', handle: () => {} })
        .build(),
    ).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    await logEvents(db, 3)
    const stats = await db.projectors.runOnce()
    expect(stats['seen']?.cursor).toBe(3)
    expect(stats['other']?.cursor).toBe(3)
    expect(Object.keys((await db.metrics()).projectors)).toEqual(['seen', 'other'])
    // The database's clock and logger are the projector's defaults: its cursor row carries the clock's time.
    expect(await db.query('SELECT updated_at FROM _azoth_cursors WHERE projector = ?', ['seen'])).toEqual([
      { updated_at: 1_000 },
    ])
    built.start()
    expect(built.metrics().state).toBe('running')
    await db.close() // stops every projector of the group, the running one included
    expect(() => db.projectorBuilder()).toThrow(expect.objectContaining({ code: 'CLOSED' }))
  })

  it('a failing backup resumes ingestion and writes nothing into the database', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await logEvents(db, 3)
    const target = join(tempDir(), 'backup')
    mkdirSync(target)
    writeFileSync(join(target, 'occupied'), 'x')
    await expectCode(db.backupTo(target), 'INVALID_ARGUMENT')
    // Ingestion was not left paused or sealed.
    await db.writeBatch().put('after', 1n).appendEvent('after').commit()
    expect(db.head()).toBe(4)
  })

  it('dead letters: a fixed handler re-applies a parked event with retry()', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog, logger: pino({ level: 'silent' }) })
    await db.migrate(TABLE)
    let broken = true
    const projector = db.projector({
      name: 'picky',
      errorStrategy: ErrorStrategy.deadLetter(),
      handlers: [
        {
          eventTypes: '*',
          handle: (e, tx) => {
            if (broken && e.id === 2) throw new Error('not yet')
            tx.run('INSERT INTO seen (id) VALUES (?)', [e.id])
          },
        },
      ],
    })
    await logEvents(db, 3)
    expect((await projector.runOnce()).deadLettered).toBe(1)
    expect(await db.query('SELECT id FROM seen ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }])
    const [letter] = await db.deadLetters.list(10)
    expect(letter).toMatchObject({ eventId: 2, projector: 'picky', status: 'pending' })
    expect(await db.deadLetters.count()).toBe(1)
    expect((await db.metrics()).deadLetters.pending).toBe(1)
    broken = false
    await db.deadLetters.retry(letter!.id)
    expect(await db.query('SELECT id FROM seen ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }])
    expect(await db.deadLetters.count()).toBe(0)
  })

  it('relaxed durability: commits are readable at once, followed live, and survive a reopen', async () => {
    const dir = tempDir()
    {
      await using db = await Azoth.open(dir, { eventLog, durability: 'relaxed' })
      const feed = db.subscribe({ from: 1 })
      const fed: number[] = []
      const reading = (async () => {
        for await (const e of feed) {
          fed.push(e.id)
          if (e.id === 40) feed.close()
        }
      })()
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          db
            .transaction()
            .keys([`k${i}`])
            .execute((tx) => {
              tx.set(`k${i}`, TypedValue.i64(BigInt(i)))
              tx.log('k', { i })
            }),
        ),
      )
      for (let i = 0; i < 20; i++) {
        const info = await db.writeBatch().appendEvent('b', { i }).commit()
        // The event just committed is readable right away (no waiting for a flush).
        expect([...db.events({ from: info.firstEventId! })].map((e) => e.payload)).toEqual([{ i }])
      }
      await reading
      expect(fed).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
    }
    await using db = await Azoth.open(dir)
    expect(db.head()).toBe(40)
    expect([...db.scan('k')]).toHaveLength(20)
  })
})

describe('event log retention', () => {
  it('the file log: compactEventLog drops only segments below the slowest projector cursor', async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir, { eventLog: 'file', segmentBytes: 4096 })
    const noop = [{ eventTypes: '*' as const, handle: () => {} }]
    const slow = db.projector({ name: 'slow', handlers: noop })
    const fast = db.projector({ name: 'fast', handlers: noop })
    await logEvents(db, 60)
    // No projector has applied anything: nothing may go.
    expect(await db.compactEventLog()).toBe(0)
    expect((await slow.runOnce()).cursor).toBe(60)
    await logEvents(db, 140)
    expect(await db.compactEventLog()).toBe(0) // `fast` is still at 0
    expect((await fast.runOnce()).cursor).toBe(200)
    const dropped = await db.compactEventLog()
    expect(dropped).toBeGreaterThan(0)
    expect(dropped).toBeLessThanOrEqual(60)
    // Everything above the slowest cursor is still there, gapless up to the head.
    const kept = [...db.events()].map((e) => e.id)
    expect(kept[0]).toBe(dropped + 1)
    expect(kept).toEqual(Array.from({ length: 200 - dropped }, (_, i) => dropped + 1 + i))
    expect((await slow.runOnce()).events).toBe(140)
    expect(await db.compactEventLog()).toBeGreaterThan(0)
    expect([...db.events({ from: 200 })].map((e) => e.id)).toEqual([200])
    // A feed from an id that retention dropped starts at the oldest kept event.
    const oldestKept = [...db.events({ limit: 1 })][0]!.id
    expect(oldestKept).toBeGreaterThan(1)
    const feed = db.subscribe({ from: 1, batchSize: 16 })
    expect((await feed[Symbol.asyncIterator]().next()).value?.id).toBe(oldestKept)
    feed.close()
    const digest = db.stateDigest()
    await db.close()
    await using reopened = await Azoth.open(dir, { eventLog: 'file', segmentBytes: 4096 })
    expect(reopened.head()).toBe(200)
    expect(reopened.stateDigest()).toBe(digest)
    await reopened.writeBatch().appendEvent('after').commit()
    expect([...reopened.events({ from: 200 })].map((e) => e.type)).toEqual(['e', 'after'])
  })

  it('the LMDB log keeps everything', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog: 'lmdb' })
    const p = db.projector({ name: 'p', handlers: [{ eventTypes: '*', handle: () => {} }] })
    await logEvents(db, 10)
    await p.runOnce()
    expect(await db.compactEventLog()).toBe(0)
    expect([...db.events()]).toHaveLength(10)
  })
})
