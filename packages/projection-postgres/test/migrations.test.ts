import { isAzothError } from '@azothdb/core'
import { type Migration, PostgresProjectionStore, type PostgresTx } from '@azothdb/projection-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

let server: PgServer | undefined

const MIGRATIONS: Migration<PostgresTx>[] = [
  {
    version: 1,
    name: 'accounts',
    up: (tx) => tx.exec('CREATE TABLE accounts (id TEXT PRIMARY KEY)'),
    down: (tx) => tx.exec('DROP TABLE accounts'),
  },
  {
    version: 2,
    name: 'accounts balance',
    async up(tx) {
      await tx.exec('ALTER TABLE accounts ADD COLUMN balance BIGINT NOT NULL DEFAULT 0')
      await tx.run("INSERT INTO accounts (id) VALUES ('seed')")
    },
    down: (tx) => tx.exec('ALTER TABLE accounts DROP COLUMN balance'),
  },
]

describe.skipIf(pgUnavailable !== undefined)(
  `PostgreSQL migrations${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())

    it('applies pending migrations in order with their history, and rolls back the last', async () => {
      const store = await PostgresProjectionStore.open({ connectionString: await server!.createDatabase() })
      try {
        const migrator = store.migrator(MIGRATIONS)
        expect((await migrator.pending()).map((m) => m.version)).toEqual([1, 2])
        expect((await migrator.up()).map((m) => m.name)).toEqual(['accounts', 'accounts balance'])
        expect(await migrator.up()).toEqual([])
        expect((await migrator.history()).map((m) => m.version)).toEqual([1, 2])
        expect(await store.query('SELECT id, balance FROM accounts')).toEqual([{ id: 'seed', balance: '0' }])
        expect((await migrator.rollbackLast())?.version).toBe(2)
        expect(await store.query('SELECT * FROM accounts')).toEqual([{ id: 'seed' }])
        expect((await migrator.pending()).map((m) => m.version)).toEqual([2])
      } finally {
        await store.close()
      }
    })

    it('concurrent migrators of two stores apply each migration once', async () => {
      const url = await server!.createDatabase()
      const a = await PostgresProjectionStore.open({ connectionString: url })
      const b = await PostgresProjectionStore.open({ connectionString: url })
      try {
        const [ra, rb] = await Promise.all([a.migrator(MIGRATIONS).up(), b.migrator(MIGRATIONS).up()])
        expect([...ra, ...rb].map((m) => m.version).sort()).toEqual([1, 2])
        expect(await a.query('SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 1 }])
      } finally {
        await a.close()
        await b.close()
      }
    })

    it('a failing migration raises CONFIG and leaves nothing of itself; bad sets raise CONFIG', async () => {
      const store = await PostgresProjectionStore.open({ connectionString: await server!.createDatabase() })
      try {
        const failing: Migration<PostgresTx>[] = [
          MIGRATIONS[0]!,
          {
            version: 2,
            name: 'broken',
            async up(tx) {
              await tx.exec('CREATE TABLE half (id INT)')
              await tx.exec('THIS IS NOT SQL')
            },
          },
        ]
        await expect(store.migrator(failing).up()).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
        expect((await store.migrator(failing).history()).map((m) => m.version)).toEqual([1])
        expect(await store.query("SELECT to_regclass('half') AS t")).toEqual([{ t: null }])
        expect(() => store.migrator([MIGRATIONS[1]!])).not.toThrow()
        await expect(store.migrator([{ ...MIGRATIONS[0]!, name: 'renamed' }]).up()).rejects.toSatisfy((e) =>
          isAzothError(e, 'CONFIG'),
        )
        expect(() => store.migrator([MIGRATIONS[0]!, { ...MIGRATIONS[1]!, version: 3 }])).toThrow(
          /consecutive/,
        )
        expect(() => store.migrator([MIGRATIONS[0]!, MIGRATIONS[0]!])).toThrow(/duplicate/)
        await expect(store.migrator([]).up()).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
        await expect(
          store.migrator([{ version: 1, name: 'accounts', up: MIGRATIONS[0]!.up }]).rollbackLast(),
        ).rejects.toSatisfy((e) => isAzothError(e, 'CONFIG'))
      } finally {
        await store.close()
      }
    })
  },
)
