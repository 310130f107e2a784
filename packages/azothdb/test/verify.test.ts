import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, ErrorStrategy, silentLogger, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const EVENTS = 8

/** A database with EVENTS commits, each a state value and an event holding a unique marker. */
async function seeded(eventLog: 'lmdb' | 'file'): Promise<{ dir: string; db: Azoth }> {
  const dir = tempDir()
  const db = await Azoth.open(dir, { eventLog, durability: 'relaxed', logger: silentLogger })
  for (let i = 1; i <= EVENTS; i++) {
    await db
      .writeBatch()
      .put(`acct-${i}`, TypedValue.string(`value-marker-${i}`))
      .appendEvent('deposited', { note: `event-marker-${i}` })
      .commit()
  }
  return { dir, db }
}

/** Flips one bit inside every copy of `marker` in the files of `dir` (recursively); returns the copies. */
function flipInside(dir: string, marker: string): number {
  let flipped = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const data = readFileSync(path)
    let at = data.indexOf(marker)
    if (at === -1) continue
    while (at !== -1) {
      data[at + marker.length - 1]! ^= 0x04
      flipped++
      at = data.indexOf(marker, at + 1)
    }
    writeFileSync(path, data)
  }
  return flipped
}

describe.each(['lmdb', 'file'] as const)('db.verify() (eventLog %s)', (eventLog) => {
  it('reports an undamaged database as ok, with what it checked', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    await db.appendToStream('cart-1', [{ type: 'ItemAdded' }, { type: 'ItemAdded' }])
    const p = db.projector({ name: 'all', handlers: [{ eventTypes: '*', handle: () => {} }] })
    await p.runOnce()
    expect(await db.verify()).toEqual({
      ok: true,
      problems: [],
      problemsOmitted: 0,
      checked: {
        keys: EVENTS,
        events: EVENTS + 2,
        head: EVENTS + 2,
        idempotencyEntries: 0,
        streamEvents: 2,
        cursors: 1,
        deadLetters: 0,
        projection: true,
      },
    })
  })

  it('names the damaged key and the damaged event, and goes on past them', async () => {
    const { dir, db } = await seeded(eventLog)
    await db.close()
    expect(flipInside(dir, 'value-marker-3')).toBeGreaterThan(0)
    expect(flipInside(dir, 'event-marker-5')).toBeGreaterThan(0)
    await using reopened = await Azoth.open(dir, { eventLog, logger: silentLogger })
    const report = await reopened.verify()
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'value-checksum', where: 'key "acct-3"', key: 'acct-3' }),
      expect.objectContaining({ kind: 'event-checksum', where: 'event 5', eventId: 5 }),
      // The file log reads a segment in order: it cannot hand out the records after a damaged one.
      ...(eventLog === 'file'
        ? [expect.objectContaining({ kind: 'unreadable', where: 'events 6 to 8', eventId: 6 })]
        : []),
    ])
    expect(report.checked).toMatchObject({ keys: EVENTS, head: EVENTS })
    // The reads of the damaged key and event fail with CORRUPTION; the others still work.
    expect(() => reopened.get('acct-3')).toThrow(expect.objectContaining({ code: 'CORRUPTION' }))
    expect(reopened.get('acct-4')?.asString()).toBe('value-marker-4')
    // A read-only process (an operator's check next to the running writer) finds the same.
    await using ro = await Azoth.openReadOnly(dir, { logger: silentLogger })
    expect((await ro.verify()).problems).toEqual(report.problems)
  })

  it('finds a projection cursor beyond the head and a dead letter naming an event the log does not hold', async () => {
    const { db } = await seeded(eventLog)
    await using _ = db
    const p = db.projector({
      name: 'fails-on-2',
      errorStrategy: ErrorStrategy.deadLetter(),
      handlers: [
        {
          eventTypes: '*',
          handle: (e) => {
            if (e.id === 2) throw new Error('no')
          },
        },
      ],
    })
    await p.runOnce()
    const healthy = await db.verify()
    expect(healthy.ok).toBe(true)
    expect(healthy.checked).toMatchObject({ cursors: 1, deadLetters: 1 })

    await db.migrate([
      {
        version: 1,
        name: 'damage',
        up: (tx) => {
          tx.run(`UPDATE _azoth_cursors SET event_id = ${EVENTS + 5} WHERE projector = 'fails-on-2'`)
          tx.run(`UPDATE _azoth_dead_letters SET event_id = ${EVENTS + 40}`)
        },
      },
    ])
    const report = await db.verify()
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'cursor', where: 'projector "fails-on-2"', eventId: EVENTS + 5 }),
      expect.objectContaining({ kind: 'dead-letter', eventId: EVENTS + 40 }),
    ])
  })
})

describe('db.verify() and the SQLite projection', () => {
  it('finds a damaged page of projection.db that no seal vouches for (the file a crash left)', async () => {
    const { dir, db } = await seeded('lmdb')
    await db.migrate([
      {
        version: 1,
        name: 'notes',
        up: (tx) => {
          tx.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)')
          for (let i = 0; i < 2000; i++) tx.run('INSERT INTO notes VALUES (?, ?)', [i, `note ${i}`])
        },
      },
    ])
    expect((await db.verify()).ok).toBe(true)
    await db.close()
    rmSync(join(dir, 'projection.db-seal'))
    // The cell count of the file's last table leaf (a page of `notes`), far beyond what a page holds.
    const file = join(dir, 'projection.db')
    const bytes = readFileSync(file)
    let page = bytes.length / 4096 - 1
    while (bytes[page * 4096] !== 0x0d) page--
    bytes.writeUInt16BE(0xfff0, page * 4096 + 3)
    writeFileSync(file, bytes)

    await using ro = await Azoth.openReadOnly(dir, { logger: silentLogger })
    const report = await ro.verify()
    expect(report.ok).toBe(false)
    expect(report.problems.length).toBeGreaterThan(0)
    expect(report.problems.every((p) => p.kind === 'projection' && p.where === 'the sqlite projection')).toBe(
      true,
    )
    expect(report.checked).toMatchObject({ keys: EVENTS, events: EVENTS, projection: true })
  })
})
