import { getAzothEventStore } from '@azothdb/emmett'
import { type PostgresTx, postgresProjection } from '@azothdb/projection-postgres'
import {
  Azoth,
  type AzothEvent,
  type EventHandler,
  type RunStats,
  type SqliteTx,
  silentLogger,
} from 'azothdb'
import { CATCH_UP_BATCH } from './batch-sizes.js'
import {
  CART_TOTALS_ITEMS,
  CART_TOTALS_TABLE,
  CART_TOTALS_UPSERT_PG,
  CART_TOTALS_UPSERT_SQLITE,
} from './cart-totals.js'
import type { EmmettSide } from './emmett-side.js'
import type { ItemAdded } from './item-added.js'

// Azoth's side of the Emmett cases: a database with `durability: 'sync'` (an fdatasync per group
// commit) seen through @azothdb/emmett, and for catch-up a projector of the same events.

const PROJECTOR = 'cart_totals'

/** Where Azoth's projector writes `cart_totals`: its default SQLite projection, or PostgreSQL. */
export type AzothReadModel = { kind: 'sqlite' } | { kind: 'postgres'; connectionString: string }

function cartLine(e: AzothEvent): [string, number, number] {
  if (e.stream === undefined) throw new Error(`event ${e.id} was not appended to a stream`)
  const d = e.payload as ItemAdded['data']
  return [e.stream.name, d.qty, d.qty * d.price]
}

const sqliteHandler: EventHandler<SqliteTx> = {
  name: PROJECTOR,
  eventTypes: ['ItemAdded'],
  handle: (e, tx) => {
    tx.run(CART_TOTALS_UPSERT_SQLITE, cartLine(e))
  },
  reset: (tx) => {
    tx.exec('DELETE FROM cart_totals')
  },
}

const postgresHandler: EventHandler<PostgresTx> = {
  name: PROJECTOR,
  eventTypes: ['ItemAdded'],
  handle: async (e, tx) => {
    await tx.run(CART_TOTALS_UPSERT_PG, cartLine(e))
  },
  reset: (tx) => tx.exec('TRUNCATE cart_totals'),
}

const migration = <Tx extends { exec(sql: string): unknown }>() => [
  {
    version: 1,
    name: PROJECTOR,
    up: async (tx: Tx): Promise<void> => {
      await tx.exec(CART_TOTALS_TABLE)
    },
  },
]

/** A side over a fresh Azoth database in `dir`; with `readModel`, its catch-up rebuilds `cart_totals` there. */
export async function openAzoth(dir: string, readModel?: AzothReadModel): Promise<EmmettSide> {
  const options = { durability: 'sync', logger: silentLogger } as const
  if (readModel?.kind === 'postgres') {
    const db = await Azoth.open(dir, {
      ...options,
      projection: postgresProjection({ connectionString: readModel.connectionString }),
    })
    await db.migrate(migration<PostgresTx>())
    db.projector({ name: PROJECTOR, handlers: [postgresHandler], batch: { maxEvents: CATCH_UP_BATCH } })
    return sideOf(db, () => db.projector({ name: PROJECTOR }).rebuild())
  }
  const db = await Azoth.open(dir, options)
  if (readModel?.kind === 'sqlite') {
    await db.migrate(migration<SqliteTx>())
    db.projector({ name: PROJECTOR, handlers: [sqliteHandler], batch: { maxEvents: CATCH_UP_BATCH } })
  }
  return sideOf(db, () => db.projector({ name: PROJECTOR }).rebuild())
}

function sideOf(db: Azoth<PostgresTx> | Azoth, rebuild: () => Promise<RunStats>): EmmettSide {
  return {
    store: getAzothEventStore(db),
    call: (fn) => fn(),
    readAll: async () => {
      let qty = 0
      for (const e of db.events()) qty += (e.payload as ItemAdded['data']).qty
      return qty
    },
    catchUp: async () => {
      const stats = await rebuild()
      if (stats.stoppedBy !== 'caughtUp')
        throw new Error(`the projector stopped (${stats.stoppedBy}) at ${stats.cursor}`)
      const [row] = await db.query<{ items: number | string }>(CART_TOTALS_ITEMS)
      return Number(row?.items ?? 0)
    },
    close: () => db.close(),
  }
}
