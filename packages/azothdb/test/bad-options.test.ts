import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, isAzothError, sqliteProjection, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { filesOf } from './support/files.js'
import { tempDir } from './support/temp-dir.js'

/**
 * Options every opening entry point refuses with `CONFIG`, before anything touches the disk.
 * Each is checked against a missing directory (nothing is created), an existing database (no file
 * changes, and it opens afterwards) and as `restoreFrom`'s options (no target is created).
 */
const BAD_OPTIONS: Record<string, unknown> = {
  'options null': null,
  'options a number': 5,
  'options a string': 'x',
  'options an array': [],
  'an unknown option': { eventlog: 'file' },
  'eventLog not a kind': { eventLog: 'sqlite' },
  'durability not a mode': { durability: 'fast' },
  'stripes 0': { stripes: 0 },
  'stripes fractional': { stripes: 1.5 },
  'lockTimeoutMs negative': { lockTimeoutMs: -1 },
  'lockTimeoutMs a string': { lockTimeoutMs: '10' },
  'clock a number': { clock: 5 },
  'clock without methods': { clock: {} },
  'clock without sleep': { clock: { now: () => 0 } },
  'logger a number': { logger: 5 },
  'logger without child (console)': { logger: console },
  'limits a string': { limits: 'x' },
  'limits null': { limits: null },
  'limits with an unknown field': { limits: { maxKeys: 1 } },
  'limits.maxKeyBytes 0': { limits: { maxKeyBytes: 0 } },
  'limits.maxValueBytes a string': { limits: { maxValueBytes: '1' } },
  'create a string': { create: 'no' },
  'create a number': { create: 0 },
  'segmentBytes too small': { segmentBytes: 1 },
  'segmentBytes a string': { segmentBytes: '4096' },
  'projection a string': { projection: 'postgres' },
  'projection without open': { projection: { backend: 'x' } },
  'events not from defineEvents': { events: { ItemAdded: {} } },
  'slowCommitMs negative': { slowCommitMs: -1 },
  'slowCommitMs a string': { slowCommitMs: '100' },
  'idempotency a string': { idempotency: 'on' },
  'idempotency.maxKeys 0': { idempotency: { maxKeys: 0 } },
  'idempotency with an unknown field': { idempotency: { keys: 10 } },
}

/** Options valid for `open` that the other entry points do not take. */
const NOT_FOR_READ_ONLY: Record<string, unknown> = {
  'create for a read-only open': { create: true },
  'eventLog for a read-only open': { eventLog: 'lmdb' },
}
const NOT_FOR_RESTORE: Record<string, unknown> = { 'eventLog for a restore': { eventLog: 'lmdb' } }

async function outcome(action: () => Promise<Azoth>): Promise<string> {
  try {
    const db = await action()
    await db.close()
    return 'opened'
  } catch (e) {
    return isAzothError(e) ? e.code : `raw ${String(e)}`
  }
}

/** Runs every case, returns those that did not end in CONFIG. */
async function refused(
  cases: Record<string, unknown>,
  run: (options: never) => Promise<Azoth>,
  untouched: () => void,
): Promise<string[]> {
  const wrong: string[] = []
  for (const [name, options] of Object.entries(cases)) {
    const code = await outcome(() => run(options as never))
    if (code !== 'CONFIG') wrong.push(`${name}: ${code}`)
    untouched()
  }
  return wrong
}

async function seeded() {
  const dir = tempDir()
  const backupDir = join(tempDir(), 'backup')
  await using db = await Azoth.open(dir)
  await db.writeBatch().put('a', TypedValue.i64(1n)).appendEvent('seeded').commit()
  await db.backupTo(backupDir)
  return { dir, backupDir, fingerprint: { head: db.head(), digest: db.stateDigest() } }
}

describe('bad options: CONFIG before anything is written', () => {
  it('Azoth.open of a missing directory creates nothing', async () => {
    const missing = join(tempDir(), 'db')
    const wrong = await refused(
      BAD_OPTIONS,
      (o) => Azoth.open(missing, o),
      () => expect(existsSync(missing)).toBe(false),
    )
    expect(wrong).toEqual([])
  })

  it('Azoth.open of an existing database changes no file; it opens afterwards', async () => {
    const { dir, fingerprint } = await seeded()
    const before = filesOf(dir)
    const wrong = await refused(
      BAD_OPTIONS,
      (o) => Azoth.open(dir, o),
      () => expect(filesOf(dir)).toEqual(before),
    )
    expect(wrong).toEqual([])
    await using db = await Azoth.open(dir)
    expect({ head: db.head(), digest: db.stateDigest() }).toEqual(fingerprint)
  })

  it('Azoth.openReadOnly changes no file', async () => {
    const { dir } = await seeded()
    const before = filesOf(dir)
    const wrong = await refused(
      { ...BAD_OPTIONS, ...NOT_FOR_READ_ONLY },
      (o) => Azoth.openReadOnly(dir, o),
      () => expect(filesOf(dir)).toEqual(before),
    )
    expect(wrong).toEqual([])
  })

  it('Azoth.restoreFrom creates no target, in a missing or an empty directory', async () => {
    const { backupDir, fingerprint } = await seeded()
    const missing = join(tempDir(), 'restored')
    const empty = tempDir()
    const cases = { ...BAD_OPTIONS, ...NOT_FOR_RESTORE }
    expect(
      await refused(
        cases,
        (o) => Azoth.restoreFrom(backupDir, missing, o),
        () => expect(existsSync(missing)).toBe(false),
      ),
    ).toEqual([])
    expect(
      await refused(
        cases,
        (o) => Azoth.restoreFrom(backupDir, empty, o),
        () => expect(filesOf(empty)).toEqual({ '/': 'dir' }),
      ),
    ).toEqual([])
    // The same target restores with good options.
    mkdirSync(missing)
    await using db = await Azoth.restoreFrom(backupDir, missing)
    expect({ head: db.head(), digest: db.stateDigest() }).toEqual(fingerprint)
  })

  it('sqliteProjection refuses an unknown option with CONFIG when it is called', () => {
    expect(() => sqliteProjection({ readers: 2, path: './elsewhere.db' } as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    )
  })
})
