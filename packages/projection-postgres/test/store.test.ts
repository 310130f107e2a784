import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { PostgresProjectionStore, type PostgresTx } from '@azothdb/projection-postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADD_TO_BALANCE, BALANCES_DDL } from './support/pg-database.js'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

let server: PgServer | undefined
const code = (c: string) => (e: unknown) => isAzothError(e) && e.code === c

async function freshStore(): Promise<PostgresProjectionStore> {
  const store = await PostgresProjectionStore.open({ connectionString: await server!.createDatabase() })
  await store.transaction((tx) => tx.exec(BALANCES_DDL))
  return store
}

describe('PostgresProjectionStore options', () => {
  it('bad options raise CONFIG before connecting', async () => {
    for (const bad of [
      {},
      { connectionString: '' },
      { connectionString: 'postgres://127.0.0.1:1/x', readers: 0 },
      { connectionString: 'postgres://127.0.0.1:1/x', connectTimeoutMs: -1 },
      { connectionString: 'postgres://127.0.0.1:1/x', nope: 1 },
    ]) {
      await expect(
        PostgresProjectionStore.open(bad as unknown as { connectionString: string }),
      ).rejects.toSatisfy(code('CONFIG'))
    }
  })

  it('a server that is not there raises IO', async () => {
    await expect(
      PostgresProjectionStore.open({
        connectionString: 'postgres://azoth@127.0.0.1:1/azoth',
        connectTimeoutMs: 2_000,
      }),
    ).rejects.toSatisfy(code('IO'))
  })
})

describe.skipIf(pgUnavailable !== undefined)(
  `PostgresProjectionStore${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())

    it('query refuses writes and bad SQL with INVALID_ARGUMENT, writes nothing, and stays usable', async () => {
      const store = await freshStore()
      try {
        await expect(store.query("INSERT INTO conformance_balances VALUES ('x', 1, 1)")).rejects.toSatisfy(
          code('INVALID_ARGUMENT'),
        )
        await expect(store.query('SELEKT 1')).rejects.toSatisfy(code('INVALID_ARGUMENT'))
        await expect(store.query('SELECT $1::int', 'x' as unknown as [])).rejects.toSatisfy(
          code('INVALID_ARGUMENT'),
        )
        await expect(store.query('SELECT $1::int AS n', ['not a number'])).rejects.toSatisfy(
          code('INVALID_ARGUMENT'),
        )
        expect(await store.query('SELECT count(*)::int AS n FROM conformance_balances')).toEqual([{ n: 0 }])
      } finally {
        await store.close()
      }
    })

    it('a failing statement in a transaction is INVALID_ARGUMENT with its SQLSTATE, and rolls everything back', async () => {
      const store = await freshStore()
      try {
        const failure = await store
          .transaction(async (tx) => {
            await tx.run(ADD_TO_BALANCE, ['a', 1])
            await tx.setCursor('p', 1)
            await tx.run('INSERT INTO conformance_balances VALUES ($1, 1, 1), ($1, 2, 2)', ['b'])
          })
          .catch((e: unknown) => e)
        expect(failure).toSatisfy(code('INVALID_ARGUMENT'))
        expect((failure as { details: Record<string, unknown> }).details['sqlState']).toBe('23505')
        expect(await store.query('SELECT * FROM conformance_balances')).toEqual([])
        expect(await store.getCursor('p')).toBe(0)
      } finally {
        await store.close()
      }
    })

    it('a commit that fails (deferred constraint) rejects, writes nothing, and the next transaction works', async () => {
      const store = await freshStore()
      try {
        await store.transaction((tx) =>
          tx.exec('CREATE TABLE d (id INT, CONSTRAINT d_unique UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)'),
        )
        await expect(
          store.transaction(async (tx) => {
            await tx.run('INSERT INTO d VALUES (1), (1)')
            await tx.setCursor('p', 9)
          }),
        ).rejects.toSatisfy(code('INVALID_ARGUMENT'))
        expect(await store.getCursor('p')).toBe(0)
        await store.transaction((tx) => tx.setCursor('p', 1))
        expect(await store.getCursor('p')).toBe(1)
      } finally {
        await store.close()
      }
    })

    it('savepoints and cursors sent with later statements keep their meaning', async () => {
      const store = await freshStore()
      const balances = () => store.query('SELECT account FROM conformance_balances ORDER BY account')
      try {
        // A syntax error in a savepoint (PostgreSQL refuses a whole script with one) rolls back only
        // the savepoint; what came before and after commits, with the cursor.
        await store.transaction(async (tx) => {
          await tx.run('INSERT INTO conformance_balances VALUES ($1, 1, 1)', ['before'])
          await expect(tx.savepoint(() => tx.exec('SELEKT 1'))).rejects.toSatisfy(code('INVALID_ARGUMENT'))
          await expect(
            tx.savepoint(async () => {
              await tx.setCursor('p', 9)
              await tx.exec("INSERT INTO conformance_balances VALUES ('inside', 1, 1)")
              throw new Error('undo')
            }),
          ).rejects.toThrow('undo')
          await tx.savepoint(() => tx.setCursor('p', 3))
          await tx.exec("INSERT INTO conformance_balances VALUES ('after', 1, 1)")
          expect(await tx.getCursor('p')).toBe(3)
        })
        expect(await balances()).toEqual([{ account: 'after' }, { account: 'before' }])
        expect(await store.getCursor('p')).toBe(3)
        // A callback that fails before anything reached the server: its deferred cursor is dropped.
        await expect(
          store.transaction(async (tx) => {
            await tx.setCursor('p', 7)
            throw new Error('nothing sent')
          }),
        ).rejects.toThrow('nothing sent')
        expect(await store.getCursor('p')).toBe(3)
        await store.transaction((tx) => tx.setCursor('p', 4))
        expect(await store.getCursor('p')).toBe(4)
        // A failed statement whose error the callback ignored aborted the transaction: the commit
        // says so instead of reporting success.
        await expect(
          store.transaction(async (tx) => {
            await tx.run('INSERT INTO conformance_balances VALUES ($1, 1, 1)', ['lost'])
            await tx.exec('SELEKT 1').catch(() => undefined)
          }),
        ).rejects.toThrow(
          expect.objectContaining({
            code: 'INVALID_ARGUMENT',
            message: expect.stringMatching(/rolled the transaction back/),
          }),
        )
        expect(await store.getCursor('p')).toBe(4)
        expect(await balances()).toEqual([{ account: 'after' }, { account: 'before' }])
      } finally {
        await store.close()
      }
    })

    it('a PostgresTx used after its transaction raises INVALID_ARGUMENT', async () => {
      const store = await freshStore()
      try {
        let leaked: PostgresTx | undefined
        await store.transaction((tx) => {
          leaked = tx
        })
        await expect(leaked!.run('SELECT 1')).rejects.toSatisfy(code('INVALID_ARGUMENT'))
      } finally {
        await store.close()
      }
    })

    it('stores opened at once on a new database create the system tables once', async () => {
      const url = await server!.createDatabase()
      const stores = await Promise.all(
        Array.from({ length: 5 }, () => PostgresProjectionStore.open({ connectionString: url })),
      )
      expect(await stores[0]!.cursors()).toEqual({})
      for (const s of stores) await s.close()
    })

    it('backup dumps one snapshot with its cursors; pg_restore brings back the same rows', async () => {
      const store = await freshStore()
      const dir = mkdtempSync(join(tmpdir(), 'azoth-pg-backup-'))
      try {
        await store.transaction(async (tx) => {
          await tx.run(ADD_TO_BALANCE, ['a', 5])
          await tx.setCursor('p', 3)
        })
        const info = await store.backup(join(dir, 'projection.dump'))
        expect(info).toEqual({ files: [join(dir, 'projection.dump')], cursors: { p: 3 } })
        const target = await server!.createDatabase()
        execFileSync('pg_restore', ['--dbname', target, info.files[0]!])
        const copy = await PostgresProjectionStore.open({ connectionString: target })
        expect(await copy.query('SELECT account, amount FROM conformance_balances')).toEqual([
          { account: 'a', amount: 5 },
        ])
        expect(await copy.cursors()).toEqual({ p: 3 })
        await copy.close()
        const broken = await PostgresProjectionStore.open({
          connectionString: target,
          pgDumpPath: join(dir, 'no-such-pg_dump'),
        })
        await expect(broken.backup(join(dir, 'x.dump'))).rejects.toSatisfy(code('IO'))
        await broken.close()
      } finally {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  },
)
