import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, type AzothEvent, ErrorStrategy, isAzothError, type SqliteTx } from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const TABLE = [
  { version: 1, name: 'seen', up: (tx: SqliteTx) => tx.exec('CREATE TABLE seen (id INTEGER PRIMARY KEY)') },
]

/** A handler whose promise never settles on event `stuckAt` (a webhook without a timeout) until released. */
function webhook(stuckAt: number) {
  let open!: () => void
  const gate = new Promise<void>((resolve) => {
    open = resolve
  })
  const handler = {
    name: 'webhook',
    eventTypes: '*' as const,
    reached: false,
    release: (): void => open(),
    async handle(event: AzothEvent, tx: SqliteTx): Promise<void> {
      tx.run('INSERT INTO seen (id) VALUES (?)', [event.id])
      if (event.id !== stuckAt) return
      handler.reached = true
      await gate
    },
  }
  return handler
}

// The timeouts and the failed backups log warnings and errors on purpose.
const quiet = { logger: pino({ level: 'silent' }) }

async function logEvents(db: Azoth, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await db.writeBatch().appendEvent('e', { i }).commit()
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 1))
}

describe('a projector handler that never settles freezes nothing', () => {
  it.each([
    ['is missing', false],
    ['is an empty directory', true],
  ])(
    'backupTo with a stuck projector rejects with TIMEOUT, commits resume, and the target (which %s) is left as found for a retry',
    async (_, precreate) => {
      const dir = tempDir()
      const target = join(tempDir(), 'backup')
      if (precreate) mkdirSync(target)
      const db = await Azoth.open(dir, quiet)
      await db.migrate(TABLE)
      // The handler timeout is far longer than the catch-up bound: the bound is what ends the wait.
      const handler = webhook(3)
      db.projector({ name: 'hook', handlers: [handler], handlerTimeoutMs: 600_000 })
      await logEvents(db, 5)

      const backup = db.backupTo(target, { catchUpTimeoutMs: 50 })
      let failed = false
      backup.catch(() => {
        failed = true
      })
      // On a slow machine the bound may pass before the projector reaches the stuck event.
      await until(() => handler.reached || failed)
      // Issued while the backup holds ingestion: it waits, and lands once the backup gave up.
      const held = db.writeBatch().appendEvent('e', { held: true }).commit()
      const error = await backup.then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(isAzothError(error, 'TIMEOUT'), String(error)).toBe(true)
      expect((error as { details: unknown }).details).toEqual({
        projector: 'hook',
        // The stuck event's batch holds events 1..5: nothing of it committed.
        cursor: 0,
        sealedEventId: 5,
        timeoutMs: 50,
      })
      expect((await held).firstEventId).toBe(6)
      expect(existsSync(target)).toBe(precreate)
      if (precreate) expect(readdirSync(target)).toEqual([])

      // Unstuck, the same target takes the retry.
      handler.release()
      const manifest = await db.backupTo(target)
      expect(manifest.sealedEventId).toBe(6)
      expect(manifest.projectorCursors).toEqual({ hook: 6 })
      await db.close()
    },
  )

  it('close(), deadLetters.count() and migrate() finish while a started projector hangs (real timers)', async () => {
    const db = await Azoth.open(tempDir(), quiet)
    await db.migrate(TABLE)
    const handler = webhook(2)
    const projector = db.projector({
      name: 'hook',
      handlers: [handler],
      handlerTimeoutMs: 30,
      errorStrategy: ErrorStrategy.deadLetter(),
    })
    projector.start()
    await logEvents(db, 4)
    await until(() => handler.reached)
    // Both wait behind the stuck transaction until the handler times out, then go on.
    const [count, migrated] = await Promise.all([
      db.deadLetters.count(),
      db.migrate([
        ...TABLE,
        { version: 2, name: 'more', up: (tx: SqliteTx) => tx.exec('CREATE TABLE more (x)') },
      ]),
    ])
    expect(count).toBeLessThanOrEqual(1)
    expect(migrated).toBe(1)
    await until(() => projector.position === 4)
    expect(await db.deadLetters.count()).toBe(1)
    expect(await db.query('SELECT id FROM seen ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }, { id: 4 }])
    expect(projector.metrics().timeouts).toBe(1)
    await db.close()
  })

  it('close() finishes while the handler of a running projector hangs: it waits the timeout at most', async () => {
    const db = await Azoth.open(tempDir(), quiet)
    await db.migrate(TABLE)
    const handler = webhook(2)
    const projector = db.projector({ name: 'hook', handlers: [handler], handlerTimeoutMs: 30 })
    projector.start()
    await logEvents(db, 3)
    await until(() => handler.reached)
    await db.close()
    // failFast: the timed-out event stopped the projector; the event before it was committed.
    const reopened = await Azoth.open(db.dir, quiet)
    expect(await reopened.query('SELECT id FROM seen ORDER BY id')).toEqual([{ id: 1 }])
    await reopened.close()
  })

  it('bad backup options raise CONFIG and write nothing', async () => {
    const db = await Azoth.open(tempDir(), quiet)
    const target = join(tempDir(), 'backup')
    for (const options of [{ catchUpTimeoutMs: 0 }, { catchUpTimeoutMs: 1.5 }, { catchUpTimeout: 5 }]) {
      await expect(db.backupTo(target, options as never)).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
    }
    expect(existsSync(target)).toBe(false)
    await db.close()
  })
})
