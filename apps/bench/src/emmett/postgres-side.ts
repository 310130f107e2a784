import { dumbo } from '@event-driven-io/dumbo'
import {
  getPostgreSQLEventStore,
  type PostgreSQLProjectionHandlerContext,
  postgreSQLProjection,
  readMessagesBatch,
  rebuildPostgreSQLProjections,
} from '@event-driven-io/emmett-postgresql'
import pg from 'pg'
import { CATCH_UP_BATCH, READ_BATCH } from './batch-sizes.js'
import { CART_TOTALS_ITEMS, CART_TOTALS_TABLE, CART_TOTALS_UPSERT_PG } from './cart-totals.js'
import { withDeadline } from './deadline.js'
import type { EmmettSide } from './emmett-side.js'
import type { ItemAdded } from './item-added.js'

// Emmett's PostgreSQL event store (`@event-driven-io/emmett-postgresql`) as shipped: its default
// pooled connections (pg.Pool through dumbo) and its own schema, migrated before the case.

/** Emmett's projection of the catch-up cases: the same upsert as Azoth's handler, per event. */
const cartTotals = postgreSQLProjection<ItemAdded>({
  name: 'cart_totals',
  canHandle: ['ItemAdded'],
  handle: async (events, context: PostgreSQLProjectionHandlerContext) => {
    for (const e of events) {
      await context.connection.client.query(CART_TOTALS_UPSERT_PG, [
        e.metadata.streamName,
        e.data.qty,
        e.data.qty * e.data.price,
      ])
    }
  },
  truncate: async (context) => {
    await context.connection.client.query('TRUNCATE cart_totals')
  },
})

/**
 * A side over a fresh Emmett PostgreSQL store in the database at `url`. Its catch-up is Emmett's
 * `rebuildPostgreSQLProjections` (truncate the read model, then apply every event, stop when none
 * is left), with a new processor id per run so each starts from the first event.
 */
export async function openEmmettPostgres(url: string): Promise<EmmettSide> {
  const store = getPostgreSQLEventStore(url)
  await store.schema.migrate()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    // The case params state the server's durability: check it rather than trust the start options.
    for (const setting of ['fsync', 'synchronous_commit']) {
      const { rows } = await client.query<Record<string, string>>(`SHOW ${setting}`)
      if (rows[0]?.[setting] !== 'on')
        throw new Error(`PostgreSQL runs with ${setting}=${rows[0]?.[setting]}`)
    }
    await client.query(CART_TOTALS_TABLE)
  } catch (e) {
    await client.end()
    await store.close()
    throw e
  }
  // The global read goes through dumbo, the pool library Emmett's store itself is built on.
  const pool = dumbo({ connectionString: url })
  let round = 0
  return {
    store,
    call: (fn) => withDeadline(fn()),
    readAll: async () => {
      let qty = 0
      for (let after = 0n, more = true; more; ) {
        const batch = await readMessagesBatch<ItemAdded>(pool.execute, { after, batchSize: READ_BATCH })
        for (const e of batch.messages) qty += e.data.qty
        after = batch.currentGlobalPosition
        more = batch.areMessagesLeft
      }
      return qty
    },
    catchUp: async () => {
      round++
      const consumer = rebuildPostgreSQLProjections<ItemAdded>({
        connectionString: url,
        pulling: { batchSize: CATCH_UP_BATCH, pullingFrequencyInMs: 0 },
        projections: [{ projection: cartTotals, processorId: `cart_totals-${round}`, truncateOnStart: true }],
      })
      await withDeadline(consumer.start())
      await consumer.close()
      const { rows } = await client.query<{ items: string }>(CART_TOTALS_ITEMS)
      return Number(rows[0]?.items ?? 0)
    },
    close: async () => {
      await client.end()
      await pool.close()
      await store.close()
    },
  }
}
