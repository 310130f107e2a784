import { join } from 'node:path'
import { Azoth, type AzothEvent, ManualClock } from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe.each(['lmdb', 'file'] as const)(
  'pause, seal and backup against held commits (eventLog %s)',
  (eventLog) => {
    it('seal() refuses the commits held by a pause, so nothing lands past the seal on resume', async () => {
      await using db = await Azoth.open(tempDir(), { eventLog })
      await db.writeBatch().put('a', 1).appendEvent('e', 1).commit()
      await db.pauseIngestion()
      const held = db.writeBatch().put('a', 2).appendEvent('e', 2).commit()
      expect(await db.seal()).toBe(1)
      db.resumeIngestion()
      await expectCode(held, 'SEALED')
      expect(db.head()).toBe(1)
      expect(db.get('a').asF64()).toBe(1)
      db.unseal()
      await db.writeBatch().put('a', 3).appendEvent('e', 3).commit()
      expect(db.head()).toBe(2)
    })

    it('resumeIngestion() during backupTo does not let commits into the copy; the backup restores', async () => {
      const dir = tempDir()
      const db = await Azoth.open(join(dir, 'db'), { eventLog })
      for (let i = 0; i < 50; i++) await db.writeBatch().put(`k${i}`, i).appendEvent('e', i).commit()
      const backup = db.backupTo(join(dir, 'backup'))
      await turn()
      db.resumeIngestion()
      const later = Array.from({ length: 20 }, (_, i) =>
        db.writeBatch().put(`x${i}`, i).appendEvent('x', i).commit(),
      )
      const manifest = await backup
      await Promise.all(later)
      expect(manifest.sealedEventId).toBe(50)
      expect(db.head()).toBe(70) // the held commits landed once the backup ended
      await db.close()
      await using restored = await Azoth.restoreFrom(join(dir, 'backup'), join(dir, 'restored'))
      expect(restored.head()).toBe(50)
      expect(restored.exists('x0')).toBe(false)
    })

    it('a projector that fails does not make backupTo fail; the backup records its cursor', async () => {
      const dir = tempDir()
      const db = await Azoth.open(join(dir, 'db'), { eventLog, logger: pino({ level: 'silent' }) })
      const projector = db.projector({
        name: 'p',
        handlers: [
          {
            name: 'h',
            eventTypes: ['e'],
            handle: (event: AzothEvent) => {
              if (event.payload === 2) throw new Error('cannot project 2')
            },
          },
        ],
      })
      for (let i = 1; i <= 3; i++) await db.writeBatch().appendEvent('e', i).commit()
      const manifest = await db.backupTo(join(dir, 'backup'))
      expect(manifest.sealedEventId).toBe(3)
      expect(projector.position).toBe(1)
      await db.close()
      await using restored = await Azoth.restoreFrom(join(dir, 'backup'), join(dir, 'restored'))
      expect(restored.head()).toBe(3)
    })
  },
)

describe('transaction builder misuse', () => {
  it('an async execute function is refused, and its own rejection is not left unhandled', async () => {
    await using db = await Azoth.open(tempDir())
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      await expectCode(
        db
          .transaction()
          .keys(['a'])
          .execute(async (tx) => {
            tx.set('not-declared', 1) // UNDECLARED_KEY, inside the returned promise
          }),
        'INVALID_ARGUMENT',
      )
      for (let i = 0; i < 10; i++) await turn()
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
    expect(db.exists('not-declared')).toBe(false)
  })

  it('keys(), reads(), require*() and validate() after execute() are refused: locks were already chosen', async () => {
    await using db = await Azoth.open(tempDir())
    const t = db.transaction().keys(['a'])
    const committed = t.execute((tx) => tx.set('a', 1))
    expect(() => t.keys(['b'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => t.reads(['b'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => t.requireExists('b')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => t.requireMin('b', 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => t.validate(() => true)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    await committed
    expect(db.get('a').asF64()).toBe(1)
  })
})

describe.each(['lmdb', 'file'] as const)('subscriptions (eventLog %s)', (eventLog) => {
  it('a feed of a read-only database delivers what the writer commits later', async () => {
    const dir = tempDir()
    await using writer = await Azoth.open(dir, { eventLog })
    await writer.writeBatch().appendEvent('e', 1).commit()
    await using reader = await Azoth.openReadOnly(dir)
    const feed = reader.subscribe({ from: 1 }) // polls: a read-only database hears of no commit
    const seen: number[] = []
    const reading = (async () => {
      for await (const e of feed) {
        seen.push(e.id)
        if (seen.length === 3) break
      }
    })()
    await feed.caughtUp
    await writer.writeBatch().appendEvent('e', 2).commit()
    await writer.writeBatch().appendEvent('e', 3).commit()
    await reading
    expect(seen).toEqual([1, 2, 3])
  })

  it("a read-only database's feed polls on the database clock, not on raw timers", async () => {
    const dir = tempDir()
    await using writer = await Azoth.open(dir, { eventLog })
    await writer.writeBatch().appendEvent('e', 1).commit()
    const clock = new ManualClock(0)
    await using reader = await Azoth.openReadOnly(dir, { clock })
    const feed = reader.subscribe({ from: 1, pollIntervalMs: 50 })
    const seen: number[] = []
    const reading = (async () => {
      for await (const e of feed) {
        seen.push(e.id)
        if (seen.length === 2) break
      }
    })()
    await feed.caughtUp
    await writer.writeBatch().appendEvent('e', 2).commit()
    // Many poll intervals of real time pass: the clock has not moved, so the feed has not looked.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(seen).toEqual([1])
    expect(clock.pending).toBe(1)
    clock.advance(50)
    await reading
    expect(seen).toEqual([1, 2])
  })

  it('caughtUp rejects with CLOSED when the feed closes before catching up', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    const feed = db.subscribe({ from: 1 })
    feed.close()
    await expectCode(feed.caughtUp, 'CLOSED')
  })

  it('refuses a pollIntervalMs that is not a positive number', async () => {
    await using db = await Azoth.open(tempDir(), { eventLog })
    await expectCode(() => db.subscribe({ pollIntervalMs: 0 }), 'INVALID_ARGUMENT')
  })
})

describe.each(['lmdb', 'file'] as const)('iterators that outlive close (eventLog %s)', (eventLog) => {
  it('events(), scan() and range() started before close() raise CLOSED on their next step', async () => {
    const db = await Azoth.open(tempDir(), { eventLog })
    for (let i = 0; i < 5; i++) await db.writeBatch().put(`k${i}`, i).appendEvent('e', i).commit()
    const events = db.events()
    const scan = db.scan('k')
    const range = db.range('k0', 'k9')
    expect(events.next().done).toBe(false)
    expect(scan.next().done).toBe(false)
    expect(range.next().done).toBe(false)
    await db.close()
    await expectCode(() => events.next(), 'CLOSED')
    await expectCode(() => scan.next(), 'CLOSED')
    await expectCode(() => range.next(), 'CLOSED')
  })
})
