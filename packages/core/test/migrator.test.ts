import { describe, expect, it } from 'vitest'
import {
  type AppliedMigration,
  AzothError,
  ManualClock,
  type Migration,
  type MigrationHistory,
  type MigrationTarget,
  Migrator,
} from '../src/index.js'

/** A store whose transactions stage a copy of the tables and history, kept only on commit. */
class MemoryStore implements MigrationTarget<MemoryTx> {
  tables = new Set<string>()
  history: AppliedMigration[] = []

  async transaction<R>(fn: (tx: MemoryTx) => R | Promise<R>): Promise<R> {
    const tx = new MemoryTx(new Set(this.tables), [...this.history])
    const result = await fn(tx)
    this.tables = tx.tables
    this.history = tx.history
    return result
  }
}

class MemoryTx {
  constructor(
    readonly tables: Set<string>,
    public history: AppliedMigration[],
  ) {}
}

const HISTORY: MigrationHistory<MemoryTx> = {
  read: async (tx) => [...tx.history],
  record: async (tx, row) => {
    tx.history.push(row)
  },
  forget: async (tx, version) => {
    tx.history = tx.history.filter((h) => h.version !== version)
  },
}

function create(version: number, table: string): Migration<MemoryTx> {
  return {
    version,
    name: `create ${table}`,
    up: async (tx) => {
      tx.tables.add(table)
    },
    down: (tx) => {
      tx.tables.delete(table)
    },
  }
}

describe('Migrator', () => {
  it('applies pending migrations in order, each with its history row, and rolls back the last', async () => {
    const store = new MemoryStore()
    const clock = new ManualClock(1_000)
    const migrator = new Migrator(store, HISTORY, [create(2, 'b'), create(1, 'a')], clock)
    expect((await migrator.pending()).map((m) => m.version)).toEqual([1, 2])
    expect(await migrator.up()).toEqual([
      { version: 1, name: 'create a', appliedAt: 1_000 },
      { version: 2, name: 'create b', appliedAt: 1_000 },
    ])
    expect([...store.tables]).toEqual(['a', 'b'])
    expect(await migrator.up()).toEqual([])
    expect(await migrator.rollbackLast()).toMatchObject({ version: 2 })
    expect([...store.tables]).toEqual(['a'])
    expect((await migrator.history()).map((h) => h.version)).toEqual([1])
  })

  it.each([
    ['a duplicate version', [create(1, 'a'), create(1, 'b')], /duplicate migration version 1/],
    ['a gap', [create(1, 'a'), create(3, 'c')], /not consecutive: 1 then 3/],
    ['a non-positive version', [create(0, 'a')], /positive integer/],
    ['a missing up', [{ version: 1, name: 'x' } as unknown as Migration<MemoryTx>], /needs a name and an up/],
  ])('refuses a set with %s with CONFIG', (_, set, message) => {
    expect(() => new Migrator(new MemoryStore(), HISTORY, set, new ManualClock(0))).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: expect.stringMatching(message) }),
    )
  })

  it('a failing up raises CONFIG with the cause and records nothing', async () => {
    const store = new MemoryStore()
    const boom = new Error('syntax error')
    const failing: Migration<MemoryTx> = {
      version: 2,
      name: 'broken',
      up: (tx) => {
        tx.tables.add('half')
        throw boom
      },
    }
    const migrator = new Migrator(store, HISTORY, [create(1, 'a'), failing], new ManualClock(0))
    await expect(migrator.up()).rejects.toMatchObject({ code: 'CONFIG', cause: boom })
    expect([...store.tables]).toEqual(['a'])
    expect(store.history.map((h) => h.version)).toEqual([1])
  })

  it.each(['IO', 'TIMEOUT', 'CLOSED', 'LOCKED'] as const)(
    'the database failing under a migration (%s) is raised as it is, not as CONFIG',
    async (code) => {
      const store = new MemoryStore()
      const failure = new AzothError(code, 'the database failed')
      const failing: Migration<MemoryTx> = {
        version: 1,
        name: 'meets a failing database',
        up: () => {
          throw failure
        },
      }
      const migrator = new Migrator(store, HISTORY, [failing], new ManualClock(0))
      await expect(migrator.up()).rejects.toBe(failure)
      expect(store.history).toEqual([])
      // A migration's own AzothError of another kind is still the migration's failure.
      const own = new AzothError('INVALID_ARGUMENT', 'bad SQL argument')
      const wrong = new Migrator(
        store,
        HISTORY,
        [{ ...failing, up: () => Promise.reject(own) }],
        new ManualClock(0),
      )
      await expect(wrong.up()).rejects.toMatchObject({ code: 'CONFIG', cause: own })
    },
  )

  it('refuses a database whose history the set no longer matches', async () => {
    const store = new MemoryStore()
    await new Migrator(store, HISTORY, [create(1, 'a'), create(2, 'b')], new ManualClock(0)).up()
    const shorter = new Migrator(store, HISTORY, [create(1, 'a')], new ManualClock(0))
    await expect(shorter.pending()).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/has migration 2 'create b', which the set lacks/),
    })
    const renamed = new Migrator(store, HISTORY, [create(1, 'a'), create(2, 'c')], new ManualClock(0))
    await expect(renamed.up()).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringMatching(/applied as 'create b' but the set names it 'create c'/),
    })
  })

  it('rolling back a migration without down raises CONFIG and changes nothing', async () => {
    const store = new MemoryStore()
    const noDown: Migration<MemoryTx> = { version: 1, name: 'one way', up: (tx) => void tx.tables.add('x') }
    const migrator = new Migrator(store, HISTORY, [noDown], new ManualClock(0))
    await migrator.up()
    await expect(migrator.rollbackLast()).rejects.toMatchObject({ code: 'CONFIG' })
    expect(store.history.map((h) => h.version)).toEqual([1])
    expect(await new Migrator(new MemoryStore(), HISTORY, [], new ManualClock(0)).rollbackLast()).toBe(
      undefined,
    )
  })
})
