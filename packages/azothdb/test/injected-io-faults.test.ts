import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { FILE_SYSTEM } from '@azothdb/core/internal'
import { Azoth, type AzothOptions, isAzothError, TypedValue } from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { FaultyFileSystem } from '../../store-filelog/test/support/faulty-file-system.js'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const logger = pino({ level: 'silent' })

/** A file-log database whose event log writes through `fs` (passed under the internal key only). */
function openWith(dir: string, fs: FaultyFileSystem, durability: 'sync' | 'relaxed'): Promise<Azoth> {
  return Azoth.open(dir, { eventLog: 'file', durability, logger, [FILE_SYSTEM]: fs } as AzothOptions)
}

function deposit(db: Azoth, i: number): Promise<unknown> {
  return db
    .writeBatch()
    .put(`k${i}`, TypedValue.i64(BigInt(i)))
    .appendEvent('deposited', { i })
    .commit()
}

/** What a plain reopen finds: the head, the deposits in the state and in the events, in order. */
async function reopened(dir: string): Promise<{ head: number; state: number[]; events: number[] }> {
  const db = await Azoth.open(dir, { logger })
  try {
    const state: number[] = []
    for (let i = 1; i <= 20; i++) {
      const v = db.getOpt(`k${i}`)
      if (v !== undefined) state.push(Number(v.asI64()))
    }
    const events = [...db.events()].map((e) => (e.payload as { i: number }).i)
    return { head: db.head(), state, events }
  } finally {
    await db.close()
  }
}

function errnoOf(e: unknown): unknown {
  return (e as { details?: Record<string, unknown> }).details?.['errno']
}

describe('injected I/O failures under Azoth.open with the file log', () => {
  describe.each(['sync', 'relaxed'] as const)('durability %s', (durability) => {
    it.each(['EIO', 'ENOSPC'])(
      'a failing event log write (%s) rejects the commit with IO; nothing of it lands; commits resume',
      async (errno) => {
        const dir = tempDir()
        const fs = new FaultyFileSystem()
        const db = await openWith(dir, fs, durability)
        for (let i = 1; i <= 5; i++) await deposit(db, i)
        fs.failOn('write', errno)
        const e = await expectCode(deposit(db, 6), 'IO')
        expect(errnoOf(e)).toBe(errno)
        expect(db.head()).toBe(5)
        expect(db.getOpt('k6')).toBeUndefined()
        fs.clear()
        await deposit(db, 7)
        await deposit(db, 8)
        expect(db.head()).toBe(7)
        await db.close()
        expect(await reopened(dir)).toEqual({
          head: 7,
          state: [1, 2, 3, 4, 5, 7, 8],
          events: [1, 2, 3, 4, 5, 7, 8],
        })
      },
    )
  })

  it.each(['EIO', 'ENOSPC'])(
    'a failing fdatasync (%s) rejects the commit with IO, later commits too until reopen; then all is as acknowledged',
    async (errno) => {
      const dir = tempDir()
      const fs = new FaultyFileSystem()
      const db = await openWith(dir, fs, 'sync')
      for (let i = 1; i <= 5; i++) await deposit(db, i)
      fs.failOn('fdatasync', errno, { times: 1 })
      const e = await expectCode(deposit(db, 6), 'IO')
      expect(errnoOf(e)).toBe(errno)
      fs.clear()
      const syncs = fs.calls.fdatasync
      // After a failed fsync the log trusts no later one: it refuses until the database is reopened.
      const later = await expectCode(deposit(db, 7), 'IO')
      expect(isAzothError(later)).toBe(true)
      expect(db.getOpt('k6')).toBeUndefined()
      expect(db.getOpt('k7')).toBeUndefined()
      expect(fs.calls.fdatasync).toBe(syncs)
      await db.close()
      expect(await reopened(dir)).toEqual({ head: 5, state: [1, 2, 3, 4, 5], events: [1, 2, 3, 4, 5] })
      // Reopened (node:fs), the database writes again.
      const again = await Azoth.open(dir, { logger })
      await deposit(again, 9)
      await again.close()
      expect(await reopened(dir)).toEqual({ head: 6, state: [1, 2, 3, 4, 5, 9], events: [1, 2, 3, 4, 5, 9] })
    },
  )

  it('a failing event log read (EIO) is IO from events() and from an open; once it clears every event reads back', async () => {
    const dir = tempDir()
    const fs = new FaultyFileSystem()
    const db = await openWith(dir, fs, 'sync')
    for (let i = 1; i <= 5; i++) await deposit(db, i)
    fs.failOn('read', 'EIO')
    const e = await expectCode(() => [...db.events()], 'IO')
    expect(errnoOf(e)).toBe('EIO')
    fs.clear()
    expect([...db.events()].map((ev) => (ev.payload as { i: number }).i)).toEqual([1, 2, 3, 4, 5])
    await deposit(db, 6)
    await db.close()
    // Without index sidecars, the open reads every event of the log: each read fails.
    for (const f of readdirSync(join(dir, 'events'))) if (f.endsWith('.idx')) rmSync(join(dir, 'events', f))
    fs.failOn('read', 'EIO')
    expect(errnoOf(await expectCode(openWith(dir, fs, 'sync'), 'IO'))).toBe('EIO')
    fs.clear()
    expect(await reopened(dir)).toEqual({ head: 6, state: [1, 2, 3, 4, 5, 6], events: [1, 2, 3, 4, 5, 6] })
  })

  it('a file system under a string key is an unknown option (CONFIG): the injection point is not public', async () => {
    const dir = tempDir()
    await expectCode(
      Azoth.open(dir, { eventLog: 'file', logger, fileSystem: new FaultyFileSystem() } as AzothOptions),
      'CONFIG',
    )
    await expectCode(
      Azoth.open(dir, { eventLog: 'file', logger, [FILE_SYSTEM]: { writeSync: 5 } } as AzothOptions),
      'CONFIG',
    )
  })
})
