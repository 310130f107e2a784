import { join } from 'node:path'
import { type AzothEventStore, getAzothEventStore } from '@azothdb/emmett'
import { type Event, type EventStore, STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett'
import { getSQLiteEventStore, sqliteConnection } from '@event-driven-io/emmett-sqlite'
import { Azoth } from 'azothdb'
import type { Case, Measure, Section } from '../harness.js'

// Azoth through @azothdb/emmett against Emmett's SQLite event store from the registry, doing the
// same Emmett calls with the same events in the same run. Ratio above 1: Azoth did more per second.

type ItemAdded = Event<'ItemAdded', { sku: string; qty: number; price: number; memo: string }>
const EVENT: ItemAdded = {
  type: 'ItemAdded',
  data: { sku: 'sku-00000001', qty: 1, price: 1299, memo: 'x'.repeat(32) },
}

interface Side {
  store: EventStore
  close(): Promise<void>
}

async function openAzoth(dir: string): Promise<Side> {
  const db = await Azoth.open(dir, { durability: 'sync' })
  const store: AzothEventStore = getAzothEventStore(db)
  return { store, close: () => db.close() }
}

/**
 * Emmett's SQLite store runs `PRAGMA journal_mode = WAL` without a callback on every connection it
 * opens (one per call): when SQLite answers SQLITE_BUSY there, node-sqlite3 emits an 'error' event
 * nobody listens to, and the process dies. The database is in WAL mode already, so nothing is lost
 * by the failed pragma: while Emmett's side runs, such errors are counted and ignored; any other
 * uncaught error still ends the process.
 */
const strayBusy = {
  count: 0,
  listener(e: unknown): void {
    if (!isBusy(e)) throw e
    strayBusy.count++
  },
}

async function openSqlite(file: string): Promise<Side> {
  const store = getSQLiteEventStore({ fileName: file })
  await store.schema.migrate()
  process.on('uncaughtException', strayBusy.listener)
  return {
    store,
    close: async () => {
      process.off('uncaughtException', strayBusy.listener)
    },
  }
}

/** SQLite's `synchronous` setting on a connection as Emmett opens it (WAL): 2 = FULL, 1 = NORMAL. */
async function sqliteSynchronous(file: string): Promise<string> {
  const connection = sqliteConnection({ fileName: file })
  try {
    const [mode] = await connection.query<{ journal_mode: string }>('PRAGMA journal_mode')
    const [sync] = await connection.query<{ synchronous: number }>('PRAGMA synchronous')
    return `${mode?.journal_mode ?? '?'}, synchronous=${sync?.synchronous ?? '?'}`
  } finally {
    connection.close()
  }
}

/**
 * Emmett's SQLite store opens a connection per call, and with concurrent calls (and now and then
 * with none) SQLite answers SQLITE_BUSY ("database is locked", "cannot commit transaction - SQL
 * statements in progress", or a failed rollback of a BEGIN refused as busy); nothing of the call
 * is written. The bench retries such a call with
 * the same expected version, as an application would have to, and reports how many it retried.
 */
function isBusy(e: unknown): boolean {
  const { errno, message } = e as { errno?: unknown; message?: unknown }
  // A BEGIN refused as busy makes Emmett's rollback fail in turn, and that is what it throws.
  return errno === 5 || (errno === 1 && String(message).includes('no transaction is active'))
}

/**
 * A call of Emmett's SQLite store under 64 concurrent callers can wait for minutes (its 64
 * connections take turns through BEGIN IMMEDIATE and busy retries): past a minute the case fails
 * instead of holding the whole bench run.
 */
async function withDeadline<T>(call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('a call took more than 60 s')), 60_000)
  })
  try {
    return await Promise.race([call, deadline])
  } finally {
    clearTimeout(timer)
  }
}

class BusyRetries {
  count = 0
  calls = 0
  async call<T>(fn: () => Promise<T>): Promise<T> {
    this.calls++
    for (let attempt = 1; ; attempt++) {
      try {
        return await withDeadline(fn())
      } catch (e) {
        if (!isBusy(e) || attempt >= 100) throw e
        this.count++
      }
    }
  }
}

/** `callers` callers, each appending `perCaller` single events to a stream of its own with expected versions. */
function appendMeasure(open: () => Promise<Side>, callers: number, perCaller: number): Measure {
  let side: Side
  let round = 0
  const busy = new BusyRetries()
  return {
    setup: async () => {
      side = await open()
    },
    run: async () => {
      round++
      await Promise.all(
        Array.from({ length: callers }, async (_, caller) => {
          const stream = `cart-${round}.${caller}`
          let expected: bigint | typeof STREAM_DOES_NOT_EXIST = STREAM_DOES_NOT_EXIST
          for (let k = 0; k < perCaller; k++) {
            const at = expected
            const r: { nextExpectedStreamVersion: bigint } = await busy.call(() =>
              side.store.appendToStream(stream, [EVENT], { expectedStreamVersion: at }),
            )
            expected = r.nextExpectedStreamVersion
          }
        }),
      )
      return callers * perCaller
    },
    report: () => ({ busyRetries: `${busy.count} in ${busy.calls} calls`, strayBusyErrors: strayBusy.count }),
    teardown: () => side.close(),
  }
}

function aggregateMeasure(open: () => Promise<Side>, events: number, reads: number): Measure {
  let side: Side
  let total = 0
  const busy = new BusyRetries()
  return {
    setup: async () => {
      side = await open()
      await side.store.appendToStream(
        'cart-100',
        Array.from({ length: events }, () => EVENT),
      )
    },
    run: async () => {
      for (let r = 0; r < reads; r++) {
        const { state } = await busy.call(() =>
          side.store.aggregateStream('cart-100', {
            initialState: () => 0,
            evolve: (sum: number, e: ItemAdded) => sum + e.data.qty,
          }),
        )
        total += state
      }
      return total > 0 ? reads : 0
    },
    report: () => ({ busyRetries: `${busy.count} in ${busy.calls} calls`, strayBusyErrors: strayBusy.count }),
    teardown: () => side.close(),
  }
}

const section: Section = {
  name: 'emmett',
  description: "Emmett's EventStore: Azoth (@azothdb/emmett) against Emmett's SQLite event store",
  cases: async ({ quick, tmpDir }) => {
    const azoth = (name: string) => () => openAzoth(join(tmpDir, `azoth-${name}`))
    const sqlite = (name: string) => () => openSqlite(join(tmpDir, `sqlite-${name}.db`))
    const sqliteMode = await sqliteSynchronous(join(tmpDir, 'probe.db'))
    const durability = {
      azoth: "durability 'sync' (fdatasync per group commit)",
      emmett: `sqlite3 ${sqliteMode}`,
    }
    const sequential = quick ? 100 : 200
    // Emmett's store at 64 callers spends most of its time retrying SQLITE_BUSY: few calls per run.
    const perCaller = quick ? 1 : 2
    return [
      {
        name: 'Emmett appendToStream: sequential single-event appends with expected versions',
        unit: 'appends',
        params: { callers: 1, perRun: sequential, ...durability },
        ours: appendMeasure(azoth('sequential'), 1, sequential),
        raw: appendMeasure(sqlite('sequential'), 1, sequential),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett appendToStream: 64 concurrent appenders on distinct streams',
        unit: 'appends',
        params: { callers: 64, perCaller, ...durability },
        ours: appendMeasure(azoth('concurrent'), 64, perCaller),
        raw: appendMeasure(sqlite('concurrent'), 64, perCaller),
        target: { minRatio: 10 },
      },
      {
        name: 'Emmett aggregateStream of a 100-event stream',
        unit: 'aggregates',
        params: { events: 100, ...durability },
        ours: aggregateMeasure(azoth('aggregate'), 100, quick ? 50 : 100),
        raw: aggregateMeasure(sqlite('aggregate'), 100, quick ? 50 : 100),
        target: { minRatio: 10 },
      },
    ] satisfies Case[]
  },
}

export default section
