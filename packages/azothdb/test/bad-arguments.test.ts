import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, type ExecuteContext, isAzothError, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { filesOf } from './support/files.js'
import { tempDir } from './support/temp-dir.js'

/** What a case may use: an open database, paths of each kind, a backup. */
interface Env {
  readonly db: Azoth
  readonly file: string
  readonly fullDir: string
  readonly backupDir: string
  readonly missing: string
}

type Case = (env: Env) => unknown
const bad = <T>(value: unknown) => value as T

/** Runs `fn` inside a transaction that declared 'a' and 'b'. */
const inExecute = (fn: (tx: ExecuteContext) => void): Case => {
  return ({ db }) =>
    db
      .transaction()
      .keys(['a', 'b'])
      .execute((tx) => {
        tx.set('b', 99n) // a valid write first: it must not land
        fn(tx)
      })
}

/** Every public entry point of the facade with arguments it must refuse with INVALID_ARGUMENT. */
const CASES: Record<string, Case> = {
  "Azoth.open('')": () => Azoth.open(''),
  'Azoth.open(123)': () => Azoth.open(bad(123)),
  'Azoth.open(null)': () => Azoth.open(bad(null)),
  'Azoth.open() without a directory': () => bad<() => Promise<Azoth>>(Azoth.open)(),
  'Azoth.open(a path with a NUL byte)': () => Azoth.open('db\0x'),
  "Azoth.openReadOnly('')": () => Azoth.openReadOnly(''),
  'Azoth.openReadOnly(5)': () => Azoth.openReadOnly(bad(5)),
  'Azoth.restoreFrom(null, target)': ({ missing }) => Azoth.restoreFrom(bad(null), missing),
  "Azoth.restoreFrom('', target)": ({ missing }) => Azoth.restoreFrom('', missing),
  'Azoth.restoreFrom(backup, null)': ({ backupDir }) => Azoth.restoreFrom(backupDir, bad(null)),
  'Azoth.restoreFrom(backup, a file)': ({ backupDir, file }) => Azoth.restoreFrom(backupDir, file),
  'Azoth.restoreFrom(backup, a non-empty directory)': ({ backupDir, fullDir }) =>
    Azoth.restoreFrom(backupDir, fullDir),
  'get(5)': ({ db }) => db.get(bad(5)),
  'getOpt(null)': ({ db }) => db.getOpt(bad(null)),
  'exists({})': ({ db }) => db.exists(bad({})),
  'scan(5)': ({ db }) => [...db.scan(bad(5))],
  'scan(null)': ({ db }) => [...db.scan(bad(null))],
  "scan('', 5)": ({ db }) => [...db.scan('', bad(5))],
  "scan('', null)": ({ db }) => [...db.scan('', bad(null))],
  "range(5, 'z')": ({ db }) => [...db.range(bad(5), 'z')],
  "range('a', null)": ({ db }) => [...db.range('a', bad(null))],
  "range('a', 'z', 'x')": ({ db }) => [...db.range('a', 'z', bad('x'))],
  'events(5)': ({ db }) => [...db.events(bad(5))],
  'events(null)': ({ db }) => [...db.events(bad(null))],
  'events({ from: 1.5 })': ({ db }) => [...db.events({ from: 1.5 })],
  'subscribe(5)': ({ db }) => db.subscribe(bad(5)),
  'subscribe(null)': ({ db }) => db.subscribe(bad(null)),
  'subscribe({ from: -1 })': ({ db }) => db.subscribe({ from: -1 }),
  'subscribe({ batchSize: 0 })': ({ db }) => db.subscribe({ batchSize: 0 }),
  "subscribe({ pollIntervalMs: 'x' })": ({ db }) => db.subscribe(bad({ pollIntervalMs: 'x' })),
  'subscribe({ form: 1 }) (an unknown field)': ({ db }) => db.subscribe(bad({ form: 1 })),
  "events({ limit: 'x' })": ({ db }) => [...db.events(bad({ limit: 'x' }))],
  'events({ form: 1 }) (an unknown field)': ({ db }) => [...db.events(bad({ form: 1 }))],
  "scan('', { limit: -1 })": ({ db }) => [...db.scan('', { limit: -1 })],
  "scan('', { lmit: 1 }) (an unknown field)": ({ db }) => [...db.scan('', bad({ lmit: 1 }))],
  'query(5)': ({ db }) => db.query(bad(5)),
  "query('SELECT 1', 5)": ({ db }) => db.query('SELECT 1', bad(5)),
  'migrate(null)': ({ db }) => db.migrate(bad(null)),
  "migrate('x')": ({ db }) => db.migrate(bad('x')),
  'backupTo(5)': ({ db }) => db.backupTo(bad(5)),
  "backupTo('')": ({ db }) => db.backupTo(''),
  'backupTo(a file)': ({ db, file }) => db.backupTo(file),
  'backupTo(a non-empty directory)': ({ db, fullDir }) => db.backupTo(fullDir),
  'transaction().keys(null)': ({ db }) => db.transaction().keys(bad(null)),
  'transaction().keys(5)': ({ db }) => db.transaction().keys(bad(5)),
  "transaction().keys('ab') (a string, not a list)": ({ db }) => db.transaction().keys(bad('ab')),
  'transaction().keys([5])': ({ db }) => db.transaction().keys(bad([5])),
  'transaction().reads(null)': ({ db }) => db.transaction().reads(bad(null)),
  'transaction().require(5, fn)': ({ db }) => db.transaction().require(bad(5), () => true),
  "transaction().require('a', 5)": ({ db }) => db.transaction().require('a', bad(5)),
  "transaction().require('a', fn, 5)": ({ db }) => db.transaction().require('a', () => true, bad(5)),
  'transaction().requireExists(null)': ({ db }) => db.transaction().requireExists(bad(null)),
  'transaction().requireMin(5, 1n)': ({ db }) => db.transaction().requireMin(bad(5), 1n),
  "transaction().requireMin('a', 'x')": ({ db }) => db.transaction().requireMin('a', bad('x')),
  "transaction().requireMax('a', 1.5)": ({ db }) => db.transaction().requireMax('a', 1.5),
  'transaction().validate(5)': ({ db }) => db.transaction().validate(bad(5)),
  'transaction().execute(5)': ({ db }) => db.transaction().execute(bad(5)),
  'tx.get(5)': inExecute((tx) => tx.get(bad(5))),
  'tx.getOpt(null)': inExecute((tx) => tx.getOpt(bad(null))),
  'tx.exists({})': inExecute((tx) => tx.exists(bad({}))),
  'tx.set(5, 1n)': inExecute((tx) => tx.set(bad(5), 1n)),
  'tx.delete(null)': inExecute((tx) => tx.delete(bad(null))),
  "tx.update('a', 5)": inExecute((tx) => tx.update('a', bad(5))),
  'tx.log(5)': inExecute((tx) => tx.log(bad<string>(5))),
  "tx.log('t', {}, 5)": inExecute((tx) => tx.log('t', {}, bad(5))),
  'tx.logMany(5)': inExecute((tx) => tx.logMany(bad(5))),
  'tx.logMany([5])': inExecute((tx) => tx.logMany(bad([5]))),
  'tx.logBytes(5)': inExecute((tx) => tx.logBytes(bad(5))),
  "tx.logBytes(bytes, '')": inExecute((tx) => tx.logBytes(new Uint8Array(1), '')),
  'writeBatch().put(5, 1n)': ({ db }) => db.writeBatch().put(bad(5), 1n).commit(),
  'writeBatch().delete(null)': ({ db }) => db.writeBatch().delete(bad(null)).commit(),
  'writeBatch().appendEvent(5)': ({ db }) =>
    db.writeBatch().put('b', 1n).appendEvent(bad<string>(5)).commit(),
  "writeBatch().appendBytes('t', 5)": ({ db }) =>
    db.writeBatch().put('b', 1n).appendBytes('t', bad(5)).commit(),
  'snapshot().get(5)': ({ db }) => {
    using snap = db.snapshot()
    return snap.get(bad(5))
  },
  "snapshot().range('a', 5)": ({ db }) => {
    using snap = db.snapshot()
    return [...snap.range('a', bad(5))]
  },
  'snapshot().getBytes(null)': ({ db }) => {
    using snap = db.snapshot()
    return snap.getBytes(bad(null))
  },
  "deadLetters.list('x')": ({ db }) => db.deadLetters.list(bad('x')),
  "deadLetters.get('x')": ({ db }) => db.deadLetters.get(bad('x')),
  'deadLetters.retry(null)': ({ db }) => db.deadLetters.retry(bad(null)),
  "deadLetters.remove('x')": ({ db }) => db.deadLetters.remove(bad('x')),
  'deadLetters.markRetry(1.5)': ({ db }) => db.deadLetters.markRetry(1.5),
  'deadLetters.count(5)': ({ db }) => db.deadLetters.count(bad(5)),
  'snapshot().scan(null)': ({ db }) => {
    using snap = db.snapshot()
    return [...snap.scan(bad(null))]
  },
}

/** Options passed at a call, not at open: `CONFIG` like the options of `Azoth.open`. */
const OPTION_CASES: Record<string, Case> = {
  'projector(5)': ({ db }) => db.projector(bad(5)),
  'projector(null)': ({ db }) => db.projector(bad(null)),
  'projector({ name: 5 })': ({ db }) => db.projector(bad({ name: 5 })),
  'projector({ handlers: 5 })': ({ db }) => db.projector(bad({ name: 'p', handlers: 5 })),
  'projectorBuilder().withName(5).build()': ({ db }) => db.projectorBuilder().withName(bad(5)).build(),
}

async function codeOf(action: () => unknown): Promise<string> {
  try {
    const result = await action()
    if (result instanceof Azoth) await result.close()
    return 'accepted'
  } catch (e) {
    return isAzothError(e) ? e.code : `raw ${String(e)}`
  }
}

describe.each(['lmdb', 'file'] as const)('bad arguments (eventLog %s)', (eventLog) => {
  it('every public entry point: INVALID_ARGUMENT, nothing written, the database still usable', async () => {
    const dir = tempDir()
    await using db = await Azoth.open(dir, { eventLog })
    await db
      .writeBatch()
      .put('a', TypedValue.i64(5n))
      .put('b', TypedValue.i64(0n))
      .appendEvent('seeded')
      .commit()
    const backupDir = join(tempDir(), 'backup')
    await db.backupTo(backupDir)
    const scratch = tempDir()
    const file = join(scratch, 'a-file')
    writeFileSync(file, 'not a directory')
    const fullDir = join(scratch, 'full')
    mkdirSync(fullDir)
    writeFileSync(join(fullDir, 'x'), 'x')
    const env: Env = { db, file, fullDir, backupDir, missing: join(scratch, 'missing') }
    const before = { head: db.head(), digest: db.stateDigest(), files: filesOf(scratch) }
    const cwdHadDatabase = existsSync('azoth.json')

    const codes: Record<string, string> = {}
    const expected: Record<string, string> = {}
    for (const [name, call] of Object.entries(CASES)) {
      codes[name] = await codeOf(() => call(env))
      expected[name] = 'INVALID_ARGUMENT'
    }
    for (const [name, call] of Object.entries(OPTION_CASES)) {
      codes[name] = await codeOf(() => call(env))
      expected[name] = 'CONFIG'
    }

    expect(codes).toEqual(expected)
    expect({ head: db.head(), digest: db.stateDigest(), files: filesOf(scratch) }).toEqual(before)
    expect(existsSync('azoth.json')).toBe(cwdHadDatabase) // open('') made no database in the working directory
    const info = await db
      .transaction()
      .requireMin('a', 1n)
      .keys(['b'])
      .execute((tx) => {
        tx.update('a', (v) => TypedValue.i64(v!.asI64() - 1n))
        tx.update('b', (v) => TypedValue.i64(v!.asI64() + 1n))
        tx.log('moved')
      })
    expect(info.firstEventId).toBe(before.head + 1)
  })
})
