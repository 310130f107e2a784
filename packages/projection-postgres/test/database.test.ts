import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import {
  type Migration,
  PostgresProjectionStore,
  type PostgresTx,
  postgresProjection,
} from '@azothdb/projection-postgres'
import { Azoth, type SqlEventHandler } from 'azothdb'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADD_TO_BALANCE, BALANCES_DDL } from './support/pg-database.js'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

// An Azoth database whose projection lives in PostgreSQL: the facade's `projection` option.

let server: PgServer | undefined
const code = (c: string) => (e: unknown) => isAzothError(e) && e.code === c
const scratch = (name: string) => mkdtempSync(join(tmpdir(), `azoth-pg-db-${name}-`))

const MIGRATIONS: Migration<PostgresTx>[] = [
  { version: 1, name: 'balances', up: (tx) => tx.exec(BALANCES_DDL) },
]

/** Deposits as the handler sees them: the transaction is PostgreSQL's, so `$1` placeholders. */
const balances: SqlEventHandler<PostgresTx> = {
  name: 'balances',
  eventTypes: ['deposited'],
  handle: async (event, tx) => {
    const { account, amount } = event.payload as { account: string; amount: number }
    await tx.run(ADD_TO_BALANCE, [account, amount])
  },
  reset: (tx) => tx.exec('TRUNCATE conformance_balances'),
}

async function deposit(db: Azoth<PostgresTx>, account: string, amount: number): Promise<void> {
  await db.writeBatch().appendEvent('deposited', { account, amount }).commit()
}

async function rows(db: Azoth<PostgresTx>): Promise<unknown[]> {
  return db.query('SELECT account, amount, events FROM conformance_balances ORDER BY account')
}

describe('the projection option', () => {
  it('refuses what is not a projection backend, and bad PostgreSQL options, with CONFIG', async () => {
    const dir = scratch('options')
    await expect(Azoth.open(dir, { projection: {} as never })).rejects.toSatisfy(code('CONFIG'))
    expect(existsSync(join(dir, 'azoth.json'))).toBe(false)
    expect(() => postgresProjection({ connectionString: 'postgres://x/y', nope: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    )
    // Checked when the database opens, before anything is written.
    await expect(
      Azoth.open(dir, { projection: postgresProjection({ connectionString: '' }) }),
    ).rejects.toSatisfy(code('CONFIG'))
    expect(existsSync(join(dir, 'azoth.json'))).toBe(false)
    for (const queryTimeoutMs of [0, -1, 1.5, Number.NaN, 2 ** 31, '500' as never]) {
      const projection = postgresProjection({ connectionString: 'postgres://x/y', queryTimeoutMs })
      await expect(Azoth.open(dir, { projection })).rejects.toSatisfy(code('CONFIG'))
      await expect(
        PostgresProjectionStore.open({ connectionString: 'postgres://x/y', queryTimeoutMs }),
      ).rejects.toSatisfy(code('CONFIG'))
    }
    expect(existsSync(join(dir, 'azoth.json'))).toBe(false)
  })
})

describe.skipIf(pgUnavailable !== undefined)(
  `a database with a PostgreSQL projection${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())

    it('migrates, projects, queries, reads from a read-only open, and keeps no projection file', async () => {
      const projection = postgresProjection({ connectionString: await server!.createDatabase() })
      const dir = scratch('project')
      const db = await Azoth.open(dir, { projection })
      try {
        expect(await db.migrate(MIGRATIONS)).toBe(1)
        const projector = db.projector({ name: 'balances', handlers: [balances] })
        await deposit(db, 'alice', 5)
        await deposit(db, 'bob', 7)
        await deposit(db, 'alice', 1)
        expect((await projector.runOnce()).events).toBe(3)
        expect(await rows(db)).toEqual([
          { account: 'alice', amount: 6, events: 2 },
          { account: 'bob', amount: 7, events: 1 },
        ])
        expect(existsSync(join(dir, 'projection.db'))).toBe(false)
        const reader = await Azoth.openReadOnly(dir, { projection })
        try {
          expect(await rows(reader)).toEqual(await rows(db))
        } finally {
          await reader.close()
        }
        expect((await db.verify()).ok).toBe(true)
      } finally {
        await db.close()
      }
    })

    it('a backup keeps a pg_dump; a restore leaves PostgreSQL alone and refuses a projection that ran ahead', async () => {
      const url = await server!.createDatabase()
      const projection = postgresProjection({ connectionString: url })
      const dir = scratch('backup')
      const backup = join(scratch('backup-dir'), 'b')
      const db = await Azoth.open(dir, { projection })
      const projector = db.projector({ name: 'balances', handlers: [balances] })
      await db.migrate(MIGRATIONS)
      await deposit(db, 'alice', 5)
      await deposit(db, 'bob', 7)
      const manifest = await db.backupTo(backup)
      expect(manifest.projection).toEqual({ backend: 'postgres', file: 'projection.pgdump' })
      expect(manifest.projectorCursors).toEqual({ balances: 2 })
      expect(manifest.files.map((f) => f.path)).toContain('projection.pgdump')
      // The live database goes on past the backup: PostgreSQL's cursor is then ahead of it.
      await deposit(db, 'carol', 9)
      await projector.runOnce()
      await db.close()

      const target = join(scratch('restore'), 'db')
      const refused = await Azoth.restoreFrom(backup, target, { projection }).catch((e: unknown) => e)
      expect(refused).toSatisfy(code('CORRUPTION'))
      expect((refused as { details: Record<string, unknown> }).details).toMatchObject({
        projector: 'balances',
        cursor: 3,
        head: 2,
      })
      expect(existsSync(target)).toBe(false)

      // The operator restores PostgreSQL from the backup's dump, then the restore goes through.
      execFileSync('pg_restore', [
        '--clean',
        '--if-exists',
        '--dbname',
        url,
        join(backup, 'projection.pgdump'),
      ])
      const restored = await Azoth.restoreFrom(backup, target, { projection })
      try {
        expect(existsSync(join(target, 'projection.pgdump'))).toBe(false)
        expect(restored.head()).toBe(2)
        expect(await rows(restored)).toEqual([
          { account: 'alice', amount: 5, events: 1 },
          { account: 'bob', amount: 7, events: 1 },
        ])
        await deposit(restored, 'dave', 3)
        const again = restored.projector({ name: 'balances', handlers: [balances] })
        expect((await again.runOnce()).events).toBe(1)
        expect((await rows(restored)).length).toBe(3)
      } finally {
        await restored.close()
      }
    }, 60_000)

    it('opening a database whose projection is past its head raises CORRUPTION naming the projector', async () => {
      const projection = postgresProjection({ connectionString: await server!.createDatabase() })
      const first = scratch('first')
      const db = await Azoth.open(first, { projection })
      await db.migrate(MIGRATIONS)
      const projector = db.projector({ name: 'balances', handlers: [balances] })
      for (const account of ['a', 'b', 'c']) await deposit(db, account, 1)
      await projector.runOnce()
      await db.close()
      // Another database pointed at the same read models: their history is not its own.
      const other = scratch('other')
      const failure = await Azoth.open(other, { projection }).catch((e: unknown) => e)
      expect(failure).toSatisfy(code('CORRUPTION'))
      expect(String((failure as Error).message)).toMatch(
        /projector 'balances'.*event 3, past this database's head 0/,
      )
      expect(existsSync(join(other, 'azoth.json'))).toBe(false)
      // The database the projection belongs to opens read-only and verifies clean.
      const reader = await Azoth.openReadOnly(first, { projection })
      expect((await reader.verify()).ok).toBe(true)
      await reader.close()
      expect(readFileSync(join(first, 'azoth.json'), 'utf8')).toContain('"eventLog"')
    }, 60_000)
  },
)
