import {
  getSQLiteEventStore,
  messagesTable,
  readMessagesBatch,
  type SQLiteConnection,
  sqliteConnection,
  sqliteProjection,
} from '@event-driven-io/emmett-sqlite'
import { CATCH_UP_BATCH, READ_BATCH } from './batch-sizes.js'
import { CART_TOTALS_ITEMS, CART_TOTALS_TABLE, CART_TOTALS_UPSERT_SQLITE } from './cart-totals.js'
import { withDeadline } from './deadline.js'
import type { EmmettSide } from './emmett-side.js'
import type { ItemAdded } from './item-added.js'
import { BusyRetries, strayBusy } from './sqlite-busy.js'

// Emmett's SQLite event store (`@event-driven-io/emmett-sqlite`) as shipped: WAL, a new sqlite3
// connection per call, its own schema. It cannot take concurrent calls: each opens its own
// connection without a busy timeout, so 64 concurrent appenders meet SQLITE_BUSY on nearly every
// attempt and retrying them did not finish 384 appends in 15 minutes. The side therefore makes one
// call at a time (callers queue in order), and retries the rare SQLITE_BUSY a lone call still meets.

/** Emmett's projection of the catch-up cases: the same upsert as Azoth's handler, per event. */
const cartTotals = sqliteProjection<ItemAdded>({
  name: 'cart_totals',
  canHandle: ['ItemAdded'],
  handle: async (events, { connection }) => {
    for (const e of events) {
      await connection.command(CART_TOTALS_UPSERT_SQLITE, [
        e.metadata.streamName,
        e.data.qty,
        e.data.qty * e.data.price,
      ])
    }
  },
})

async function withConnection<T>(file: string, fn: (c: SQLiteConnection) => Promise<T>): Promise<T> {
  const connection = sqliteConnection({ fileName: file })
  try {
    return await fn(connection)
  } finally {
    connection.close()
  }
}

/**
 * A side over a fresh Emmett SQLite store in `file`. Its catch-up is Emmett's consumer with one
 * projection processor (a new processor id per run, so it starts from the first event), after the
 * read model is emptied, stopped after the store's last event.
 */
export async function openEmmettSqlite(file: string): Promise<EmmettSide> {
  const store = getSQLiteEventStore({ fileName: file })
  await store.schema.migrate()
  await withConnection(file, (c) => c.command(CART_TOTALS_TABLE))
  const busy = new BusyRetries()
  let queue: Promise<unknown> = Promise.resolve()
  let round = 0
  const call = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(() => busy.call(fn))
    queue = next.catch(() => undefined)
    return next
  }
  process.on('uncaughtException', strayBusy.listener)
  return {
    store,
    call,
    readAll: () =>
      withConnection(file, async (c) => {
        let qty = 0
        for (let after = 0n, more = true; more; ) {
          const from = after
          const batch = await call(() =>
            readMessagesBatch<ItemAdded>(c, { after: from, batchSize: READ_BATCH }),
          )
          for (const e of batch.messages) qty += e.data.qty
          after = batch.currentGlobalPosition
          more = batch.areEventsLeft
        }
        return qty
      }),
    catchUp: async () => {
      round++
      const last = await withConnection(file, async (c) => {
        await c.command('DELETE FROM cart_totals')
        // Not Emmett's readLastMessageGlobalPosition: in 0.42.4 it returns the first position
        // (ORDER BY global_position without DESC).
        const [row] = await c.query<{ last: number }>(
          `SELECT max(global_position) AS last FROM ${messagesTable.name}`,
        )
        return BigInt(row?.last ?? 0)
      })
      const consumer = store.consumer<ItemAdded>({
        pulling: { batchSize: CATCH_UP_BATCH, pullingFrequencyInMs: 0 },
      })
      consumer.processor({
        processorId: `cart_totals-${round}`,
        projection: cartTotals,
        startFrom: 'BEGINNING',
        stopAfter: (e) => e.metadata.globalPosition === last,
      })
      await withDeadline(consumer.start())
      await consumer.stop()
      const [row] = await withConnection(file, (c) => c.query<{ items: number }>(CART_TOTALS_ITEMS))
      return Number(row?.items ?? 0)
    },
    report: () => busy.report(),
    close: async () => {
      process.off('uncaughtException', strayBusy.listener)
    },
  }
}

/** SQLite's journal mode and `synchronous` on a connection as Emmett opens it (2 = FULL, 1 = NORMAL). */
export async function emmettSqliteDurability(file: string): Promise<string> {
  return withConnection(file, async (c) => {
    const [mode] = await c.query<{ journal_mode: string }>('PRAGMA journal_mode')
    const [sync] = await c.query<{ synchronous: number }>('PRAGMA synchronous')
    return `${mode?.journal_mode ?? '?'}, synchronous=${sync?.synchronous ?? '?'}`
  })
}
