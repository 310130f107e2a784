import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AzothEvent, type EventHandler, isAzothError } from '@azothdb/core'
import { PostgresProjectionStore, type PostgresTx, postgresProjection } from '@azothdb/projection-postgres'
import { Projector } from '@azothdb/projector'
import { Azoth } from 'azothdb'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { depositSource, FAULT_DDL, readState, replayBalances } from './support/deposits.js'
import { type PgServer, pgUnavailable, startPgServer } from './support/pg-server.js'

// A server that stops answering (every process SIGSTOPped: the kernel still accepts connections
// and acknowledges what is sent) must not hang any entry point: each rejects with TIMEOUT once
// `queryTimeoutMs` (statements) or `connectTimeoutMs` (new connections) has passed, close()
// finishes, and once the server runs again the same handle works and nothing was half-applied.

const TIMEOUTS = { queryTimeoutMs: 500, connectTimeoutMs: 500 }
const TOTAL = 200

let server: PgServer | undefined
const timedOut = (e: unknown): boolean => isAzothError(e, 'TIMEOUT') && e.cause !== undefined
const scratch = (name: string) => mkdtempSync(join(tmpdir(), `azoth-pg-frozen-${name}-`))

const deposits: EventHandler<PostgresTx> = {
  eventTypes: ['Deposited'],
  async handle(event: AzothEvent, tx: PostgresTx) {
    const p = event.payload as { account: string; amount: number }
    await tx.run('INSERT INTO applied (event_id, pid) VALUES ($1, $2)', [event.id, process.pid])
    await tx.run(
      'INSERT INTO balances (account, amount, events) VALUES ($1, $2, 1) ON CONFLICT (account) DO UPDATE ' +
        'SET amount = balances.amount + excluded.amount, events = balances.events + 1',
      [p.account, p.amount],
    )
  },
}

describe.skipIf(pgUnavailable !== undefined)(
  `a frozen PostgreSQL server${pgUnavailable ? ` (skipped: ${pgUnavailable})` : ''}`,
  () => {
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e)
    }
    beforeAll(async () => {
      server = await startPgServer()
    }, 60_000)
    afterAll(() => server?.destroy())
    beforeEach(() => {
      unhandled.length = 0
      process.on('unhandledRejection', onUnhandled)
    })
    afterEach(() => {
      server?.thaw()
      process.off('unhandledRejection', onUnhandled)
    })

    it('every store entry point rejects with TIMEOUT, close() finishes, and the same handle works once thawed', async () => {
      const url = await server!.createDatabase()
      const store = await PostgresProjectionStore.open({ connectionString: url, ...TIMEOUTS })
      await store.transaction((tx) => tx.exec(FAULT_DDL))
      const projectorOf = (events: number) =>
        Projector.builder(depositSource(events), store)
          .withName('balances')
          .withHandler(deposits)
          .withBatch({ maxEvents: 50 })
          .build()
      await projectorOf(100).runOnce()
      // The same projector with more events committed since: it goes on from cursor 100.
      const projector = projectorOf(TOTAL)
      const held = await store.lockProjector('balances', { checkIntervalMs: 100 })

      server!.freeze()
      // Each alone: one that hung would fail the test by its own timeout.
      await expect(store.query('SELECT count(*) FROM balances')).rejects.toSatisfy(timedOut)
      await expect(store.getCursor('balances')).rejects.toSatisfy(timedOut)
      await expect(
        store.transaction((tx) => tx.run('INSERT INTO balances VALUES ($1, 1, 1)', ['x'])),
      ).rejects.toSatisfy(timedOut)
      await expect(store.deadLetters.count()).rejects.toSatisfy(timedOut)
      await expect(store.migrator([]).up()).rejects.toSatisfy(timedOut)
      await expect(store.backup(join(scratch('backup'), 'dump'))).rejects.toSatisfy(timedOut)
      await expect(projector.runOnce()).rejects.toSatisfy(timedOut)
      await expect(PostgresProjectionStore.open({ connectionString: url, ...TIMEOUTS })).rejects.toSatisfy(
        timedOut,
      )
      // The lock's heartbeat gets no answer: its holder learns it may have lost the lock.
      await new Promise<void>((resolve) => {
        if (held.signal.aborted) resolve()
        held.signal.addEventListener('abort', () => resolve(), { once: true })
      })
      server!.thaw()

      // Nothing of the timed-out work landed; the same handle connects again and goes on.
      expect((await readState(url)).cursor).toBe(100)
      expect(await store.query('SELECT account FROM balances WHERE account = $1', ['x'])).toEqual([])
      await projector.runOnce()
      const state = await readState(url)
      expect(state.cursor).toBe(TOTAL)
      expect(state.balances).toEqual(replayBalances(TOTAL))
      expect(new Set(state.applied).size).toBe(state.applied.length)
      expect(await store.deadLetters.count()).toBe(0)
      await store.close()
      expect(unhandled).toEqual([])
    }, 60_000)

    it('close() finishes while the server is frozen, with a projector lock held and connections idle', async () => {
      const url = await server!.createDatabase()
      const store = await PostgresProjectionStore.open({ connectionString: url, ...TIMEOUTS })
      await store.query('SELECT 1')
      await store.lockProjector('p', { checkIntervalMs: 60_000 })
      server!.freeze()
      await store.close()
      await expect(store.query('SELECT 1')).rejects.toSatisfy((e) => isAzothError(e, 'CLOSED'))
      server!.thaw()
      // The lock went with its session: a new store takes it at once.
      const again = await PostgresProjectionStore.open({ connectionString: url, ...TIMEOUTS })
      const lock = await again.lockProjector('p', { checkIntervalMs: 50 })
      await lock.release()
      await again.close()
      expect(unhandled).toEqual([])
    }, 60_000)

    it('a pg_dump that makes no progress is killed and the backup rejects with TIMEOUT; the next backup works', async () => {
      const url = await server!.createDatabase()
      const dir = scratch('hung-dump')
      const pidFile = join(dir, 'pid')
      const hung = await PostgresProjectionStore.open({
        connectionString: url,
        ...TIMEOUTS,
        pgDumpPath: fileURLToPath(new URL('./support/hung-pg-dump.sh', import.meta.url)),
      })
      process.env['AZOTH_HUNG_PID_FILE'] = pidFile
      try {
        await expect(hung.backup(join(dir, 'dump'))).rejects.toSatisfy(timedOut)
      } finally {
        delete process.env['AZOTH_HUNG_PID_FILE']
        await hung.close()
      }
      const pid = Number(readFileSync(pidFile, 'utf8'))
      expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }))
      // The snapshot's transaction was ended too: a real pg_dump of the same store's database works.
      const store = await PostgresProjectionStore.open({ connectionString: url, ...TIMEOUTS })
      try {
        const info = await store.backup(join(dir, 'real'))
        expect(existsSync(info.files[0]!)).toBe(true)
      } finally {
        await store.close()
      }
      expect(unhandled).toEqual([])
    }, 60_000)

    it('the database facade: open, query, migrate, projector, backupTo reject with TIMEOUT; close() finishes; reopen works', async () => {
      const projection = postgresProjection({ connectionString: await server!.createDatabase(), ...TIMEOUTS })
      const dir = scratch('db')
      const handlers = [
        {
          name: 'balances',
          eventTypes: ['Deposited'],
          handle: async (event: AzothEvent, tx: PostgresTx) => {
            const p = event.payload as { account: string; amount: number }
            await tx.run('INSERT INTO balances (account, amount, events) VALUES ($1, $2, 1)', [
              p.account,
              p.amount,
            ])
          },
        },
      ]
      const db = await Azoth.open(dir, { projection })
      await db.migrate([{ version: 1, name: 'tables', up: (tx) => tx.exec(FAULT_DDL) }])
      const projector = db.projector({ name: 'balances', handlers })
      await db.writeBatch().appendEvent('Deposited', { account: 'a', amount: 1 }).commit()
      await projector.runOnce()

      server!.freeze()
      await db.writeBatch().appendEvent('Deposited', { account: 'b', amount: 2 }).commit()
      await expect(db.query('SELECT * FROM balances')).rejects.toSatisfy(timedOut)
      await expect(
        db.migrate([
          { version: 1, name: 'tables', up: (tx) => tx.exec(FAULT_DDL) },
          { version: 2, name: 'more', up: (tx) => tx.exec('CREATE TABLE more (id INT)') },
        ]),
      ).rejects.toSatisfy(timedOut)
      await expect(projector.runOnce()).rejects.toSatisfy(timedOut)
      expect(projector.position).toBe(1)
      await expect(db.backupTo(join(scratch('backup'), 'b'))).rejects.toSatisfy(timedOut)
      await db.close()
      await expect(Azoth.open(dir, { projection })).rejects.toSatisfy(timedOut)
      server!.thaw()

      const reopened = await Azoth.open(dir, { projection })
      try {
        expect(await reopened.query('SELECT account, amount FROM balances ORDER BY account')).toEqual([
          { account: 'a', amount: '1' },
        ])
        const again = reopened.projector({ name: 'balances', handlers })
        expect((await again.runOnce()).events).toBe(1)
        expect(await reopened.query('SELECT version FROM _azoth_migrations')).toEqual([{ version: 1 }])
      } finally {
        await reopened.close()
      }
      expect(unhandled).toEqual([])
    }, 60_000)
  },
)
