import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAzothError, ManualClock } from '@azothdb/core'
import { loadSqlMigrations, type Migration, SqliteProjectionStore } from '@azothdb/projection-sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
let store: SqliteProjectionStore
const clock = new ManualClock(42)

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-mig-'))
  store = SqliteProjectionStore.open({ path: join(dir, 'p.db'), clock })
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const m1: Migration = {
  version: 1,
  name: 'accounts',
  up: (tx) => tx.exec('CREATE TABLE accounts (id TEXT PRIMARY KEY)'),
  down: (tx) => tx.exec('DROP TABLE accounts'),
}
const m2: Migration = {
  version: 2,
  name: 'balance column',
  up: (tx) => tx.exec('ALTER TABLE accounts ADD COLUMN balance INTEGER NOT NULL DEFAULT 0'),
  down: (tx) => tx.exec('ALTER TABLE accounts DROP COLUMN balance'),
}

async function columns(): Promise<string[]> {
  return (await store.query<{ name: string }>("SELECT name FROM pragma_table_info('accounts')")).map(
    (r) => r.name,
  )
}

describe('migrations', () => {
  it('applies in order, records history, reports pending, rolls back the last', async () => {
    const migrator = store.migrator([m2, m1])
    expect((await migrator.pending()).map((m) => m.version)).toEqual([1, 2])
    expect(await migrator.up()).toEqual([
      { version: 1, name: 'accounts', appliedAt: 42 },
      { version: 2, name: 'balance column', appliedAt: 42 },
    ])
    expect(await migrator.pending()).toEqual([])
    expect(await migrator.up()).toEqual([])
    expect(await columns()).toEqual(['id', 'balance'])
    expect((await migrator.history()).map((h) => h.version)).toEqual([1, 2])
    expect(await migrator.rollbackLast()).toMatchObject({ version: 2 })
    expect(await columns()).toEqual(['id'])
    expect((await migrator.history()).map((h) => h.version)).toEqual([1])
    expect(await migrator.rollbackLast()).toMatchObject({ version: 1 })
    expect(await migrator.rollbackLast()).toBeUndefined()
    expect(await columns()).toEqual([])
  })

  it('refuses duplicate, missing and invalid versions with CONFIG', async () => {
    const cases: Migration[][] = [
      [m1, { ...m2, version: 1 }],
      [m1, { ...m2, version: 3 }],
      [{ ...m1, version: 0 }],
      [{ ...m1, name: '' }],
    ]
    for (const set of cases) {
      expect(() => store.migrator(set)).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    }
    await store.migrator([m1, m2]).up()
    // The database has version 2, which this set lacks.
    await expect(store.migrator([m1]).pending()).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
    // Version 2 under another name.
    await expect(store.migrator([m1, { ...m2, name: 'renamed' }]).up()).rejects.toSatisfy((e) =>
      isAzothError(e, 'CONFIG'),
    )
    // A migration without down cannot be rolled back.
    await expect(
      store.migrator([m1, { version: m2.version, name: m2.name, up: m2.up }]).rollbackLast(),
    ).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
  })

  it('a failing migration leaves nothing behind and stops the sequence', async () => {
    const broken: Migration = {
      version: 2,
      name: 'broken',
      up: (tx) => {
        tx.exec('CREATE TABLE half (x)')
        tx.exec('THIS IS NOT SQL')
      },
    }
    await expect(store.migrator([m1, broken]).up()).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
    expect((await store.migrator([m1, broken]).history()).map((h) => h.version)).toEqual([1])
    expect(await store.query("SELECT name FROM sqlite_master WHERE name = 'half'")).toEqual([])
  })

  it('loads .sql files with optional .down.sql and refuses two files of one version', async () => {
    const folder = join(dir, 'migrations')
    mkdirSync(folder)
    writeFileSync(join(folder, '0001_accounts.sql'), 'CREATE TABLE accounts (id TEXT PRIMARY KEY);')
    writeFileSync(join(folder, '0001_accounts.down.sql'), 'DROP TABLE accounts;')
    writeFileSync(
      join(folder, '0002_balance.sql'),
      'ALTER TABLE accounts ADD COLUMN balance INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX by_balance ON accounts (balance);',
    )
    writeFileSync(join(folder, 'README.md'), 'ignored')
    const migrations = loadSqlMigrations(folder)
    expect(migrations.map((m) => [m.version, m.name, m.down !== undefined])).toEqual([
      [1, 'accounts', true],
      [2, 'balance', false],
    ])
    await store.migrator(migrations).up()
    expect(await columns()).toEqual(['id', 'balance'])
    writeFileSync(join(folder, '0002-other.sql'), 'SELECT 1;')
    expect(() => loadSqlMigrations(folder)).toThrow(expect.objectContaining({ code: 'CONFIG' }))
    expect(() => loadSqlMigrations(join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'CONFIG' }))
  })
})
