import { join } from 'node:path'
import {
  Azoth,
  type AzothEvent,
  ErrorStrategy,
  EventProcessor,
  fixedClock,
  isAzothError,
  type SqlEventHandler,
  type SqliteTx,
  TypedValue,
} from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const NOW = 1_750_000_000_000

describe.each(['lmdb', 'file'] as const)('the quick start (eventLog %s)', (eventLog) => {
  it('open, transaction, reads, batch, events, subscribe, projections, dead letters, backup, close', async () => {
    const dir = tempDir()
    const db = await Azoth.open(dir, {
      eventLog,
      durability: 'sync',
      stripes: 64,
      lockTimeoutMs: 2000,
      clock: fixedClock(NOW),
      logger: pino({ level: 'silent' }),
      limits: { maxKeyBytes: 256 },
    })
    expect(db.eventLogKind).toBe(eventLog)
    expect(db.head()).toBe(0)

    // ---- writeBatch ----
    const seeded = await db
      .writeBatch()
      .put('balance', TypedValue.i64(500n))
      .put('a', TypedValue.i64(1n))
      .put('b', TypedValue.string('bee'))
      .put('gone', TypedValue.bool(true))
      .delete('never-there')
      .appendEvent('opened', { balance: 500 })
      .commit()
    expect(seeded.eventsWritten).toBe(1)
    expect(db.head()).toBe(1)

    // ---- the transaction of the quick start ----
    const info = await db
      .transaction()
      .keys(['a', 'b', 'gone', 'fresh'])
      .require('balance', (v) => {
        if (v === undefined) throw new Error('no balance')
      })
      .requireExists('balance')
      .requireMin('balance', 100n)
      .requireMax('balance', 1_000_000n)
      .validate(async (ctx) => {
        expect(ctx.get('balance').asI64()).toBe(500n)
        expect(ctx.getOpt('fresh')).toBeUndefined()
        expect(ctx.exists('a')).toBe(true)
        await Promise.resolve()
      })
      .execute((ctx) => {
        expect(ctx.get('a').asI64()).toBe(1n)
        expect(ctx.getOpt('fresh')).toBeUndefined()
        expect(ctx.exists('gone')).toBe(true)
        ctx.set('fresh', TypedValue.i64(42n))
        ctx.delete('gone')
        ctx.update('balance', (old) => TypedValue.i64(old!.asI64() - 100n))
        ctx.update('a', (old) => TypedValue.i64(old!.asI64() + 1n))
        // Reads inside execute see its own buffered writes.
        expect(ctx.get('fresh').asI64()).toBe(42n)
        expect(ctx.exists('gone')).toBe(false)
        ctx.log('withdraw', { amount: 100 })
        ctx.logMany([
          ['a', { x: 1 }],
          ['b', { y: 2 }],
        ])
        ctx.logBytes(new Uint8Array([1, 2, 3]))
        return 'done'
      })
    expect(info).toEqual({
      eventsWritten: 4,
      firstEventId: 2,
      lastEventId: 5,
      stateKeysWritten: 3,
      stateKeysDeleted: 1,
      result: 'done',
      duplicate: false,
    })
    const noEvents = await db
      .transaction()
      .keys(['a'])
      .execute((ctx) => ctx.set('a', 3n))
    expect(noEvents.eventsWritten).toBe(0)
    expect(noEvents.firstEventId).toBeUndefined()
    expect(noEvents.lastEventId).toBeUndefined()

    // ---- reads ----
    expect(db.get('balance').asI64()).toBe(400n)
    expect(db.get('a').asI64()).toBe(3n)
    expect(db.getOpt('gone')).toBeUndefined()
    await expectCode(() => db.get('gone'), 'NOT_FOUND')
    expect(db.exists('fresh')).toBe(true)
    expect(db.exists('gone')).toBe(false)
    expect([...db.scan('')].map((e) => e.key)).toEqual(['a', 'b', 'balance', 'fresh'])
    expect([...db.scan('b')].map((e) => [e.key, e.value.kind])).toEqual([
      ['b', 'string'],
      ['balance', 'i64'],
    ])
    expect([...db.range('a', 'balance')].map((e) => e.key)).toEqual(['a', 'b'])

    // ---- events ----
    const all = [...db.events()]
    expect(all.map((e) => [e.id, e.type])).toEqual([
      [1, 'opened'],
      [2, 'withdraw'],
      [3, 'a'],
      [4, 'b'],
      [5, 'bytes'],
    ])
    expect(all.every((e) => e.timestamp === NOW)).toBe(true)
    expect(all[1]!.payload).toEqual({ amount: 100 })
    expect(all[4]!.payload).toEqual(new Uint8Array([1, 2, 3]))
    expect([...db.events({ from: 2, to: 4 })].map((e) => e.id)).toEqual([2, 3, 4])
    expect([...db.events({ from: 2, limit: 2 })].map((e) => e.id)).toEqual([2, 3])
    expect([...db.events({ from: 6 })]).toEqual([])
    expect(db.head()).toBe(5)

    // ---- subscribe: stored events, caught-up signal, then live delivery ----
    const feed = db.subscribe({ from: 3 })
    const received: AzothEvent[] = []
    let seventh!: () => void
    const gotSeventh = new Promise<void>((r) => {
      seventh = r
    })
    const reading = (async () => {
      for await (const event of feed) {
        received.push(event)
        if (event.id === 7) seventh()
      }
    })()
    expect(await feed.caughtUp).toBe(5)
    expect(received.map((e) => e.id)).toEqual([3, 4, 5])
    await db
      .transaction()
      .keys(['a'])
      .execute((ctx) => {
        ctx.log('live', { n: 1 })
        ctx.log('live', { n: 2 })
      })
    await gotSeventh
    expect(received.map((e) => e.id)).toEqual([3, 4, 5, 6, 7])
    expect(received[4]!.payload).toEqual({ n: 2 })
    feed.close()
    await reading

    // ---- projections: migrate, default and named projectors, query ----
    const migrations = [
      {
        version: 1,
        name: 'log',
        up: (tx: SqliteTx) => tx.exec('CREATE TABLE log (id INTEGER PRIMARY KEY, type TEXT)'),
      },
      {
        version: 2,
        name: 'amounts',
        up: (tx: SqliteTx) => tx.exec('CREATE TABLE amounts (id INTEGER PRIMARY KEY, amount INTEGER)'),
      },
    ]
    expect(await db.migrate(migrations)).toBe(2)
    expect(await db.migrate(migrations)).toBe(0)
    const logAll: SqlEventHandler = {
      eventTypes: '*',
      handle: (e, tx) => {
        tx.run('INSERT INTO log (id, type) VALUES (?, ?)', [e.id, e.type])
      },
    }
    db.projector({ handlers: [logAll] })
    const stats = await db.projector().runOnce()
    expect(stats).toMatchObject({ from: 0, cursor: 7, events: 7, stoppedBy: 'caughtUp' })
    expect(await db.query('SELECT id, type FROM log WHERE id >= ? ORDER BY id', [6])).toEqual([
      { id: 6, type: 'live' },
      { id: 7, type: 'live' },
    ])
    const amounts = db.projector({
      name: 'amounts',
      handlers: [
        {
          eventTypes: ['withdraw'],
          handle: (e, tx) => {
            tx.run('INSERT INTO amounts VALUES (?, ?)', [e.id, (e.payload as { amount: number }).amount])
          },
        },
      ],
    })
    expect(db.projector({ name: 'amounts' })).toBe(amounts)
    expect((await amounts.runOnce()).cursor).toBe(7)
    expect(await db.query('SELECT * FROM amounts')).toEqual([{ id: 2, amount: 100 }])

    // ---- EventProcessor.builder with dead letters ----
    const flaky = EventProcessor.builder(db)
      .withName('flaky')
      .withHandler({
        eventTypes: ['a', 'b'],
        handle: (e) => {
          if (e.type === 'b') throw new Error('cannot handle b')
        },
      })
      .withErrorStrategy(ErrorStrategy.deadLetter())
      .withDeadLetterQueue()
      .build()
    const flakyStats = await flaky.runOnce()
    expect(flakyStats).toMatchObject({ cursor: 7, deadLettered: 1 })
    const letters = await db.deadLetters.list(100)
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({ projector: 'flaky', eventId: 4, eventType: 'b' })
    expect(letters[0]!.errorMessage).toContain('cannot handle b')
    expect(await db.deadLetters.markRetry(letters[0]!.id)).toBe(true)
    expect(await db.deadLetters.remove(letters[0]!.id)).toBe(true)
    expect(await db.deadLetters.list(100)).toEqual([])
    expect(await db.deadLetters.remove(letters[0]!.id)).toBe(false)

    // ---- ingestion control ----
    await db.pauseIngestion()
    const held = db.writeBatch().put('paused', 1n).commit()
    db.resumeIngestion()
    await held
    expect(db.get('paused').asI64()).toBe(1n)
    expect(await db.seal()).toBe(7)
    await expectCode(db.writeBatch().appendEvent('x').commit(), 'SEALED')
    db.unseal()

    // ---- metrics ----
    const metrics = await db.metrics()
    expect(metrics.head).toBe(7)
    expect(metrics.transactions.committed).toBe(3)
    expect(metrics.commits).toBeDefined()
    expect(Object.keys(metrics.projectors).sort()).toEqual(['amounts', 'default', 'flaky'])
    expect(metrics.projectors['default']).toMatchObject({ cursor: 7, lag: 0 })
    expect(metrics.deadLetters).toEqual({ pending: 0, retrying: 0, permanent: 0 })

    // ---- read-only inspection while the writer runs ----
    const reader = await Azoth.openReadOnly(dir)
    expect(reader.readOnly).toBe(true)
    expect(reader.head()).toBe(7)
    expect(reader.get('balance').asI64()).toBe(400n)
    expect([...reader.events()].map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(await reader.query('SELECT count(*) AS n FROM log')).toEqual([{ n: 7 }])
    await expectCode(() => reader.writeBatch().put('x', 1n).commit(), 'READ_ONLY')
    await expectCode(
      () =>
        reader
          .transaction()
          .keys(['x'])
          .execute(() => {}),
      'READ_ONLY',
    )
    await db
      .transaction()
      .keys(['balance'])
      .execute((ctx) => {
        ctx.set('balance', 1n)
        ctx.log('after', {})
      })
    await reader.close()

    // ---- backup and restore ----
    const backupDir = join(tempDir(), 'backup')
    const manifest = await db.backupTo(backupDir)
    expect(manifest.sealedEventId).toBe(8)
    expect(manifest.eventLog).toBe(eventLog)
    expect(manifest.projectorCursors).toEqual({ default: 8, amounts: 8, flaky: 8 })
    // The database takes writes again after the backup.
    await db.writeBatch().put('after-backup', 1n).commit()
    await db.close()
    await expectCode(() => db.head(), 'CLOSED')

    {
      await using restored = await Azoth.restoreFrom(backupDir, join(tempDir(), 'restored'))
      expect(restored.head()).toBe(8)
      expect(restored.exists('after-backup')).toBe(false)
      expect(restored.get('balance').asI64()).toBe(1n)
      expect(await restored.query('SELECT count(*) AS n FROM log')).toEqual([{ n: 8 }])
      await restored.writeBatch().put('restored', true).commit()
    }
    // `await using` closed it: the directory can be opened again, with the recorded event log.
    await using again = await Azoth.open(dir)
    expect(again.eventLogKind).toBe(eventLog)
    expect(again.get('after-backup').asI64()).toBe(1n)
  }, 60_000)

  it('openReadOnly follows the writer: it sees events and state committed after it opened', async () => {
    const dir = tempDir()
    await using db = await Azoth.open(dir, { eventLog })
    await db.writeBatch().put('k', 1n).appendEvent('first').commit()
    await using reader = await Azoth.openReadOnly(dir)
    expect([...reader.events()].map((e) => e.type)).toEqual(['first'])
    await db.writeBatch().put('k', 2n).appendEvent('second').commit()
    expect(reader.head()).toBe(2)
    expect(reader.get('k').asI64()).toBe(2n)
    // head() says 2: events() must deliver event 2 too.
    expect([...reader.events()].map((e) => e.type)).toEqual(['first', 'second'])
    expect([...reader.events({ from: 2 })].map((e) => e.type)).toEqual(['second'])
  })

  it('a default projector that was never created is a clear CONFIG error', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const e = await expectCode(() => db.projector(), 'CONFIG')
    expect(isAzothError(e) && e.message).toContain('handlers')
  })
})
