import { appendFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { openFileEventLog } from '@azothdb/store-filelog'
import { Azoth, type AzothEvent, ErrorStrategy, type Logger, ManualClock, type SqliteTx } from 'azothdb'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { CapturingLogger } from './support/capturing-logger.js'
import { tempDir } from './support/temp-dir.js'

const TABLE = [{ version: 1, name: 't', up: (tx: SqliteTx) => tx.exec('CREATE TABLE t (id INTEGER)') }]

async function logEvents(db: Azoth, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await db.writeBatch().appendEvent('e', { i }).commit()
}

describe('lifecycle logs', () => {
  it('open and close: backend, head, what recovery did and how long it took', async () => {
    const dir = tempDir()
    const log = new CapturingLogger()
    const db = await Azoth.open(dir, { eventLog: 'file', logger: log.logger() })
    expect(log.one('opening the database')).toMatchObject({
      level: 'debug',
      fields: { dir, eventLog: 'file' },
    })
    const opened = log.one('database opened')
    expect(opened.level).toBe('info')
    expect(opened.fields).toMatchObject({
      dir,
      eventLog: 'file',
      readOnly: false,
      created: true,
      head: 0,
      recovery: { tornBytes: 0, uncommittedEventsCut: 0 },
    })
    expect(opened.fields['durationMs']).toBeGreaterThan(0)
    await logEvents(db, 3)
    await db.close()
    expect(log.one('closing the database').level).toBe('debug')
    expect(log.one('database closed')).toMatchObject({ level: 'info', fields: { dir, head: 3 } })

    const again = new CapturingLogger()
    await using reopened = await Azoth.open(dir, { logger: again.logger() })
    expect(again.one('database opened').fields).toMatchObject({ created: false, head: 3, eventLog: 'file' })
    const reader = new CapturingLogger()
    await using readOnly = await Azoth.openReadOnly(dir, { logger: reader.logger() })
    expect(readOnly.readOnly).toBe(true)
    expect(reader.one('database opened read-only')).toMatchObject({ level: 'info', fields: { head: 3 } })
    expect(reopened.head()).toBe(3)
  })

  it('recovery after a crash: a torn tail cut and events past the committed head cut, each reported', async () => {
    const dir = tempDir()
    const first = await Azoth.open(dir, { eventLog: 'file', logger: new CapturingLogger().logger() })
    await logEvents(first, 3)
    await first.close()
    // Two events appended to the log but never committed in LMDB (a crash between the two), then a
    // torn record (a crash in the middle of a write).
    const events = join(dir, 'events')
    const fileLog = await openFileEventLog(events)
    fileLog.append(4, [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])])
    await fileLog.sync()
    await fileLog.close()
    const segment = readdirSync(events)
      .filter((f) => f.endsWith('.seg'))
      .sort()
      .at(-1)!
    appendFileSync(join(events, segment), new Uint8Array(37).fill(0xab))

    const log = new CapturingLogger()
    await using db = await Azoth.open(dir, { logger: log.logger() })
    expect(db.head()).toBe(3)
    const cut = log.one(
      'event log held events past the committed head (a crash before their commit); cut back to the head',
    )
    expect(cut).toMatchObject({ level: 'warn', fields: { head: 3, logHead: 5, eventsCut: 2 } })
    expect(log.one('database opened').fields).toMatchObject({
      head: 3,
      recovery: { tornBytes: 37, uncommittedEventsCut: 2 },
    })
    expect([...db.events()].map((e) => e.id)).toEqual([1, 2, 3])
  })

  it('backup and restore: start and end at info with sizes and durations, the steps at debug', async () => {
    const log = new CapturingLogger()
    const db = await Azoth.open(tempDir(), { logger: log.logger() })
    await logEvents(db, 5)
    const target = join(tempDir(), 'backup')
    const manifest = await db.backupTo(target)
    await db.close()
    expect(log.one('backup started')).toMatchObject({ level: 'info', fields: { targetDir: target, head: 5 } })
    const done = log.one('backup finished')
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0)
    expect(done).toMatchObject({
      level: 'info',
      fields: { targetDir: target, sealedEventId: 5, files: manifest.files.length, bytes },
    })
    expect(bytes).toBeGreaterThan(0)
    expect(done.fields['durationMs']).toBeGreaterThan(0)
    expect(log.one('backup: ingestion paused and sealed').level).toBe('debug')
    expect(log.one('backup: projectors caught up; copying').level).toBe('debug')
    expect(log.one('backup: copied; ingestion resumes').level).toBe('debug')

    const restoring = new CapturingLogger()
    const restoredDir = join(tempDir(), 'restored')
    await using restored = await Azoth.restoreFrom(target, restoredDir, { logger: restoring.logger() })
    expect(restored.head()).toBe(5)
    expect(restoring.one('restore started')).toMatchObject({
      level: 'info',
      fields: { backupDir: target, target: restoredDir },
    })
    const finished = restoring.one('restore finished')
    expect(finished).toMatchObject({
      level: 'info',
      fields: { backupDir: target, target: restoredDir, head: 5, files: manifest.files.length, bytes },
    })
    expect(finished.fields['durationMs']).toBeGreaterThan(0)
  })

  it('a failed restore logs restore failed with its error', async () => {
    const log = new CapturingLogger()
    await expect(
      Azoth.restoreFrom(tempDir(), join(tempDir(), 'x'), { logger: log.logger() }),
    ).rejects.toThrow()
    expect(log.one('restore started').level).toBe('info')
    expect(log.one('restore failed').level).toBe('error')
  })

  it('projectors: start, stop, rebuild, dead-lettering, circuit open, half-open and closed', async () => {
    const clock = new ManualClock(10_000)
    const log = new CapturingLogger()
    await using db = await Azoth.open(tempDir(), { clock, logger: log.logger() })
    await db.migrate(TABLE)
    await logEvents(db, 4)
    const insert = (e: AzothEvent, tx: SqliteTx): void => {
      tx.run('INSERT INTO t (id) VALUES (?)', [e.id])
    }

    const steady = db.projector({
      name: 'steady',
      handlers: [{ eventTypes: '*', handle: insert, reset: (tx: SqliteTx) => tx.exec('DELETE FROM t') }],
    })
    steady.start()
    await steady.stop()
    expect(log.one('projector started')).toMatchObject({ level: 'info', fields: { projector: 'steady' } })
    expect(log.one('projector stopped')).toMatchObject({
      level: 'info',
      fields: { projector: 'steady', state: 'stopped' },
    })
    await steady.rebuild()
    expect(log.one('projection reset for rebuild')).toMatchObject({ level: 'info', fields: { head: 4 } })
    expect(log.one('rebuild finished')).toMatchObject({
      level: 'info',
      fields: { projector: 'steady', cursor: 4, events: 4, stoppedBy: 'caughtUp' },
    })

    await db
      .projector({
        name: 'parking',
        errorStrategy: ErrorStrategy.deadLetter(),
        handlers: [
          {
            eventTypes: '*',
            handle: (e: AzothEvent) => {
              if (e.id === 2) throw new Error('two is refused')
            },
          },
        ],
      })
      .runOnce()
    expect(log.one('event dead-lettered')).toMatchObject({
      level: 'warn',
      fields: { projector: 'parking', eventId: 2, eventType: 'e', attempts: 1 },
    })

    let down = true
    const breaking = db.projector({
      name: 'breaking',
      errorStrategy: ErrorStrategy.logAndSkip(),
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 1_000 },
      handlers: [
        {
          eventTypes: '*',
          handle: () => {
            if (down) throw new Error('dependency down')
          },
        },
      ],
    })
    expect((await breaking.runOnce()).stoppedBy).toBe('circuitOpen')
    expect(log.one('circuit opened; projector pauses')).toMatchObject({
      level: 'warn',
      fields: { projector: 'breaking', opens: 1, resetTimeoutMs: 1_000, failedTrial: false },
    })
    down = false
    clock.advance(1_000)
    expect((await breaking.runOnce()).stoppedBy).toBe('caughtUp')
    expect(log.one('circuit half-open; trying events')).toMatchObject({
      level: 'info',
      fields: { projector: 'breaking', trials: 1 },
    })
    expect(log.one('circuit closed; projector resumes')).toMatchObject({
      level: 'info',
      fields: { projector: 'breaking', opens: 1 },
    })
  })

  it('slow commits over slowCommitMs: a warning, one record a second however many are slow; 0 is off', async () => {
    const slow = (db: Azoth, key: string) =>
      db
        .transaction()
        .keys([key])
        .validate(() => new Promise((resolve) => setTimeout(() => resolve(true), 150)))
        .execute((tx) => tx.set(key, 1n))
    const log = new CapturingLogger()
    await using db = await Azoth.open(tempDir(), { logger: log.logger(), slowCommitMs: 50 })
    await Promise.all([slow(db, 'a'), slow(db, 'b'), slow(db, 'c')])
    const record = log.one('slow commit')
    expect(record.level).toBe('warn')
    expect(record.fields).toMatchObject({ thresholdMs: 50, slowCommits: 1 })
    expect(record.fields['latencyMs']).toBeGreaterThanOrEqual(150)

    const off = new CapturingLogger()
    await using quiet = await Azoth.open(tempDir(), { logger: off.logger(), slowCommitMs: 0 })
    await slow(quiet, 'a')
    expect(off.named('slow commit')).toEqual([])
  })

  it('pino at warn (the default level) writes nothing for a normal life; at debug, every step', async () => {
    const lifeAt = async (level: 'warn' | 'debug'): Promise<string[]> => {
      const lines: string[] = []
      const logger = pino({ level }, { write: (line: string) => lines.push(line) }) as unknown as Logger
      const dir = tempDir()
      const db = await Azoth.open(dir, { logger })
      await db.migrate(TABLE)
      await logEvents(db, 3)
      const projector = db.projector({ name: 'p', handlers: [{ eventTypes: '*', handle: () => {} }] })
      projector.start()
      await db.backupTo(join(tempDir(), 'b'))
      await db.close()
      return lines.map((l) => (JSON.parse(l) as { msg: string }).msg)
    }
    expect(await lifeAt('warn')).toEqual([])
    const all = await lifeAt('debug')
    for (const msg of [
      'opening the database',
      'database opened',
      'projector started',
      'backup started',
      'backup: ingestion paused and sealed',
      'backup finished',
      'closing the database',
      'projector stopped',
      'database closed',
    ]) {
      expect(all, msg).toContain(msg)
    }
  })
})
