import { join } from 'node:path'
import { type PostgresTx, postgresProjection } from '@azothdb/projection-postgres'
import { Azoth, type AzothEvent, type EventHandler, silentLogger } from 'azothdb'
import pg from 'pg'
import postgres from 'postgres'
import type { Case, Measure, Section } from '../harness.js'
import { type BenchPgServer, pgUnavailable, startPgServer } from '../pg-server.js'
import { lagReport } from '../stats.js'

const BATCH = 100
const ACCOUNTS = 500

interface Deposit {
  account: string
  amount: number
}

const TABLE =
  'CREATE TABLE balances (account TEXT PRIMARY KEY, amount BIGINT NOT NULL, events INTEGER NOT NULL)'
const UPSERT =
  'INSERT INTO balances (account, amount, events) VALUES ($1, $2, 1) ON CONFLICT (account) DO UPDATE ' +
  'SET amount = balances.amount + excluded.amount, events = balances.events + 1'
// One statement for a batch: deposits to one account are summed first (ON CONFLICT may not touch a
// row twice in one statement).
const UPSERT_MANY =
  'INSERT INTO balances (account, amount, events) SELECT account, sum(amount), count(*) ' +
  'FROM unnest($1::text[], $2::bigint[]) AS d(account, amount) GROUP BY account ' +
  'ON CONFLICT (account) DO UPDATE SET amount = balances.amount + excluded.amount, events = balances.events + excluded.events'
const RAW_CURSOR_TABLE =
  'CREATE TABLE raw_cursors (projector TEXT PRIMARY KEY, event_id BIGINT NOT NULL, updated_at BIGINT NOT NULL)'
const RAW_CURSOR =
  'INSERT INTO raw_cursors (projector, event_id, updated_at) VALUES ($1, $2, $3) ' +
  'ON CONFLICT (projector) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at'
const RAW_RESET = 'TRUNCATE balances; DELETE FROM raw_cursors'

const deposit = (i: number): Deposit => ({ account: `a${i % ACCOUNTS}`, amount: i + 1 })

/** One PostgreSQL server for every case of the section: started by the first setup, removed by the last teardown. */
class SharedServer {
  #server: BenchPgServer | undefined
  #users = 0
  async database(): Promise<string> {
    if (this.#users++ === 0) this.#server = await startPgServer()
    return this.#server!.createDatabase()
  }
  release(): void {
    if (--this.#users === 0) {
      this.#server?.destroy()
      this.#server = undefined
    }
  }
}

async function openDatabase(dir: string, url: string): Promise<Azoth<PostgresTx>> {
  const db = await Azoth.open(dir, {
    logger: silentLogger,
    durability: 'relaxed',
    projection: postgresProjection({ connectionString: url }),
  })
  await db.migrate([{ version: 1, name: 'balances', up: (tx) => tx.exec(TABLE) }])
  return db
}

async function fill(db: Azoth<PostgresTx>, events: number): Promise<void> {
  for (let from = 0; from < events; from += 1000) {
    await db.transaction().execute((tx) => {
      for (let i = from; i < Math.min(events, from + 1000); i++) tx.log('Deposited', deposit(i))
    })
  }
}

type Shape = 'per-event' | 'per-batch'

const perEvent: EventHandler<PostgresTx> = {
  eventTypes: ['Deposited'],
  async handle(e, tx) {
    const d = e.payload as Deposit
    await tx.run(UPSERT, [d.account, d.amount])
  },
  reset: (tx) => tx.exec('TRUNCATE balances'),
}

const perBatch: EventHandler<PostgresTx> = {
  ...perEvent,
  async handleBatch(events, tx) {
    const accounts: string[] = []
    const amounts: number[] = []
    for (const e of events) {
      const d = e.payload as Deposit
      accounts.push(d.account)
      amounts.push(d.amount)
    }
    await tx.run(UPSERT_MANY, [accounts, amounts])
  },
}

/** Ours: the projector of an Azoth database with the PostgreSQL projection, rebuilt from event 1 each run. */
function projectorSide(
  dir: string,
  events: number,
  shape: Shape,
  batch: number,
  server: SharedServer,
): Measure {
  let db: Azoth<PostgresTx> | undefined
  return {
    async setup() {
      db = await openDatabase(dir, await server.database())
      await fill(db, events)
      db.projector({
        name: 'balances',
        handlers: [shape === 'per-event' ? perEvent : perBatch],
        batch: { maxEvents: batch },
      })
    },
    async run() {
      const stats = await db!.projector({ name: 'balances' }).rebuild()
      if (stats.cursor !== events) throw new Error(`the projector stopped at ${stats.cursor} of ${events}`)
      return events
    },
    async teardown() {
      await db?.close()
      server.release()
    },
  }
}

/**
 * Raw: the same events read from the same database, applied with `pg` by hand, batch by batch:
 * BEGIN, the upserts, the cursor row, COMMIT (what a hand-written projector without Azoth's
 * projector does; no advisory lock, no cursor read).
 */
function rawPgSide(dir: string, events: number, shape: Shape, batch: number, server: SharedServer): Measure {
  let db: Azoth<PostgresTx> | undefined
  let client: pg.Client | undefined
  return {
    async setup() {
      const url = await server.database()
      db = await openDatabase(dir, url)
      await fill(db, events)
      client = new pg.Client({ connectionString: url })
      await client.connect()
      await client.query(RAW_CURSOR_TABLE)
    },
    async run() {
      const c = client!
      await c.query(RAW_RESET)
      for (let from = 1; from <= events; from += batch) {
        await c.query('BEGIN')
        let last = 0
        if (shape === 'per-event') {
          for (const e of db!.events({ from, limit: batch }) as Iterable<AzothEvent>) {
            const d = e.payload as Deposit
            await c.query(UPSERT, [d.account, d.amount])
            last = e.id
          }
        } else {
          const accounts: string[] = []
          const amounts: number[] = []
          for (const e of db!.events({ from, limit: batch }) as Iterable<AzothEvent>) {
            const d = e.payload as Deposit
            accounts.push(d.account)
            amounts.push(d.amount)
            last = e.id
          }
          await c.query(UPSERT_MANY, [accounts, amounts])
        }
        await c.query(RAW_CURSOR, ['balances', last, Date.now()])
        await c.query('COMMIT')
      }
      return events
    },
    async teardown() {
      await client?.end()
      await db?.close()
      server.release()
    },
  }
}

type Driver = 'pg' | 'postgres' | 'postgres-pipelined'

/** The same raw workload on one driver: deposits built in memory, one upsert per event, batches of BATCH. */
function driverSide(driver: Driver, events: number, server: SharedServer): Measure {
  const deposits = Array.from({ length: events }, (_, i) => deposit(i))
  let client: pg.Client | undefined
  let sql: postgres.Sql | undefined
  return {
    async setup() {
      const url = await server.database()
      const setupClient = new pg.Client({ connectionString: url })
      await setupClient.connect()
      await setupClient.query(`${TABLE}; ${RAW_CURSOR_TABLE}`)
      await setupClient.end()
      if (driver === 'pg') {
        client = new pg.Client({ connectionString: url })
        await client.connect()
      } else sql = postgres(url, { max: 1, onnotice: () => undefined })
    },
    async run() {
      if (client !== undefined) {
        await client.query(RAW_RESET)
        for (let from = 0; from < events; from += BATCH) {
          const to = Math.min(events, from + BATCH)
          await client.query('BEGIN')
          for (let i = from; i < to; i++)
            await client.query(UPSERT, [deposits[i]!.account, deposits[i]!.amount])
          await client.query(RAW_CURSOR, ['balances', to, Date.now()])
          await client.query('COMMIT')
        }
        return events
      }
      const s = sql!
      await s.unsafe(RAW_RESET)
      for (let from = 0; from < events; from += BATCH) {
        const to = Math.min(events, from + BATCH)
        if (driver === 'postgres') {
          await s.begin(async (tx) => {
            for (let i = from; i < to; i++)
              await tx.unsafe(UPSERT, [deposits[i]!.account, deposits[i]!.amount])
            await tx.unsafe(RAW_CURSOR, ['balances', to, Date.now()])
          })
        } else {
          // porsager pipelines the statements of a transaction when they are not awaited one by one.
          await s.begin((tx) => {
            const statements = []
            for (let i = from; i < to; i++)
              statements.push(tx.unsafe(UPSERT, [deposits[i]!.account, deposits[i]!.amount]))
            statements.push(tx.unsafe(RAW_CURSOR, ['balances', to, Date.now()]))
            return Promise.all(statements)
          })
        }
      }
      return events
    },
    async teardown() {
      await client?.end()
      await sql?.end()
      server.release()
    },
  }
}

/** Ours under a steady commit load: `rate` events/s committed in 100 transactions/s; lag sampled every 5 ms. */
function steadyLoadSide(
  dir: string,
  shape: Shape,
  rate: number,
  seconds: number,
  server: SharedServer,
): Measure {
  let db: Azoth<PostgresTx> | undefined
  let lags: number[] = []
  return {
    async setup() {
      db = await openDatabase(dir, await server.database())
      db.projector({
        name: 'balances',
        handlers: [shape === 'per-event' ? perEvent : perBatch],
        batch: { maxEvents: BATCH },
      })
    },
    async run() {
      const projector = db!.projector({ name: 'balances' })
      const from = db!.head()
      projector.start()
      lags = []
      const sample = setInterval(() => lags.push(db!.head() - projector.metrics().cursor), 5)
      const perTick = rate / 100
      const started = performance.now()
      let n = from
      for (let tick = 1; tick <= seconds * 100; tick++) {
        await db!.transaction().execute((tx) => {
          for (let i = 0; i < perTick; i++) tx.log('Deposited', deposit(n++))
        })
        const wait = started + tick * 10 - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      }
      const head = db!.head()
      while (projector.metrics().cursor < head) await new Promise((r) => setTimeout(r, 1))
      clearInterval(sample)
      await projector.stop()
      return head - from
    },
    report: () => lagReport(lags),
    async teardown() {
      await db?.close()
      server.release()
    },
  }
}

const section: Section = {
  name: 'projection-postgres',
  description:
    'Events applied to read models in PostgreSQL (fsync on, local server) by the projector of an Azoth database ' +
    'with postgresProjection; raw = the same events applied with the same driver (pg) and batch size by hand',
  cases({ quick, tmpDir }): Case[] {
    if (pgUnavailable !== undefined) throw new Error(`skipped: ${pgUnavailable}`)
    const events = quick ? 2_000 : 10_000
    const server = new SharedServer()
    const params = { events, batch: BATCH, accounts: ACCOUNTS, durability: 'fsync on' }
    const ratioCase = (shape: Shape, batch: number): Case => ({
      name:
        `project ${events.toLocaleString('en')} deposits, ` +
        (shape === 'per-event' ? 'one upsert per event' : 'one multi-row upsert per batch') +
        ` (batches of ${batch.toLocaleString('en')})`,
      unit: 'events',
      params: { ...params, batch, handler: shape === 'per-event' ? 'handle' : 'handleBatch (unnest)' },
      ours: projectorSide(join(tmpDir, `ours-${shape}-${batch}`), events, shape, batch, server),
      raw: rawPgSide(join(tmpDir, `raw-${shape}-${batch}`), events, shape, batch, server),
      target: { minRatio: 0.7 },
    })
    const loadCase = (shape: Shape, rate: number): Case => ({
      name: `projector under a steady commit load (${rate.toLocaleString('en')} events/s offered, ${shape === 'per-event' ? 'handle' : 'handleBatch'})`,
      unit: 'events',
      params: {
        offeredRate: rate,
        transactionsPerSecond: 100,
        batch: BATCH,
        handler: shape === 'per-event' ? 'handle' : 'handleBatch (unnest)',
      },
      ours: steadyLoadSide(join(tmpDir, `load-${shape}`), shape, rate, quick ? 2 : 5, server),
    })
    return [
      ratioCase('per-event', BATCH),
      ratioCase('per-batch', BATCH),
      // The projector's default batch (1,000 events): its fixed cost per batch is spread wider.
      ratioCase('per-batch', 1_000),
      {
        name: 'driver: pg (ours) vs postgres (raw), awaited statements, raw upserts',
        unit: 'events',
        params: { events, batch: BATCH, accounts: ACCOUNTS },
        ours: driverSide('pg', events, server),
        raw: driverSide('postgres', events, server),
      },
      {
        name: 'driver: pg (ours) vs postgres pipelined (raw), raw upserts',
        unit: 'events',
        params: { events, batch: BATCH, accounts: ACCOUNTS },
        ours: driverSide('pg', events, server),
        raw: driverSide('postgres-pipelined', events, server),
      },
      loadCase('per-event', 1_000),
      loadCase('per-batch', 5_000),
    ]
  },
}

export default section
