// Applying 10,000 deposit events into PostgreSQL, batch by batch (one transaction per batch, the
// cursor upserted in it): through the projector and PostgresProjectionStore (pg), and as raw batched
// upserts with the same statements on `pg` and on `postgres` (porsager), sequential and pipelined.
// Run: node --import tsx bench/drivers.ts <connection string> [batch=100] [events=10000]
import type { AzothEvent, EventHandler } from '@azothdb/core'
import { PostgresProjectionStore, type PostgresTx } from '@azothdb/projection-postgres'
import { Projector } from '@azothdb/projector'
import pg from 'pg'
import postgres from 'postgres'
import { depositSource } from '../test/support/deposits.js'

const url = process.argv[2]!
const BATCH = Number(process.argv[3] ?? 100)
const EVENTS = Number(process.argv[4] ?? 10_000)
const UPSERT =
  'INSERT INTO balances (account, amount, events) VALUES ($1, $2, 1) ON CONFLICT (account) DO UPDATE ' +
  'SET amount = balances.amount + excluded.amount, events = balances.events + 1'
const CURSOR =
  'INSERT INTO _azoth_cursors (projector, event_id, updated_at) VALUES ($1, $2, $3) ' +
  'ON CONFLICT (projector) DO UPDATE SET event_id = excluded.event_id, updated_at = excluded.updated_at'

const deposits = Array.from({ length: EVENTS }, (_, i) => ({ account: `a${(i + 1) % 500}`, amount: i + 1 }))

async function reset(): Promise<void> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  await c.query(
    'DROP TABLE IF EXISTS balances; CREATE TABLE balances (account TEXT PRIMARY KEY, amount BIGINT NOT NULL, events INTEGER NOT NULL); DELETE FROM _azoth_cursors',
  )
  await c.end()
}

async function time(name: string, fn: () => Promise<void>): Promise<void> {
  await reset()
  const t = performance.now()
  await fn()
  const ms = performance.now() - t
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms  ${Math.round((EVENTS / ms) * 1000)} events/s`,
  )
}

const store = await PostgresProjectionStore.open({ connectionString: url })
const handler: EventHandler<PostgresTx> = {
  eventTypes: ['Deposited'],
  async handle(e: AzothEvent, tx: PostgresTx) {
    const p = e.payload as { account: string; amount: number }
    await tx.run(UPSERT, [p.account, p.amount])
  },
}
const rounds = 3
for (let round = 0; round < rounds; round++) {
  console.log(`round ${round + 1}: ${EVENTS} events, batches of ${BATCH}`)
  await time('projector + PostgresProjectionStore (pg)', async () => {
    const source = depositSource(EVENTS)
    const p = Projector.builder(source, store)
      .withName('bench')
      .withHandler(handler)
      .withBatch({ maxEvents: BATCH })
      .build()
    await p.runOnce()
  })
  await time('raw pg, sequential', async () => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    for (let i = 0; i < EVENTS; i += BATCH) {
      await c.query('BEGIN')
      for (let j = i; j < Math.min(EVENTS, i + BATCH); j++)
        await c.query(UPSERT, [deposits[j]!.account, deposits[j]!.amount])
      await c.query(CURSOR, ['bench', i + BATCH, Date.now()])
      await c.query('COMMIT')
    }
    await c.end()
  })
  await time('raw postgres (porsager), sequential', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => undefined })
    for (let i = 0; i < EVENTS; i += BATCH) {
      await sql.begin(async (tx) => {
        for (let j = i; j < Math.min(EVENTS, i + BATCH); j++)
          await tx.unsafe(UPSERT, [deposits[j]!.account, deposits[j]!.amount])
        await tx.unsafe(CURSOR, ['bench', i + BATCH, Date.now()])
      })
    }
    await sql.end()
  })
  await time('raw postgres (porsager), pipelined', async () => {
    const sql = postgres(url, { max: 1, onnotice: () => undefined })
    for (let i = 0; i < EVENTS; i += BATCH) {
      await sql.begin((tx) => {
        const qs = []
        for (let j = i; j < Math.min(EVENTS, i + BATCH); j++)
          qs.push(tx.unsafe(UPSERT, [deposits[j]!.account, deposits[j]!.amount]))
        qs.push(tx.unsafe(CURSOR, ['bench', i + BATCH, Date.now()]))
        return Promise.all(qs)
      })
    }
    await sql.end()
  })
}
await store.close()
