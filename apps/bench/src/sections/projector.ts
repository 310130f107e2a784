import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { AzothEvent, CanonicalStore, EventHandler } from '@azothdb/core'
import { SqliteProjectionStore, type SqliteTx } from '@azothdb/projection-sqlite'
import { Projector } from '@azothdb/projector'
import { openLmdbStore } from '@azothdb/store-lmdb'
import Database from 'better-sqlite3'
import type { Case, Measure, Section } from '../harness.js'

const ACCOUNTS = 10_000
const COMMIT_EVENTS = 1_000
const RAW_TX_ROWS = 1_000
const TABLE = 'CREATE TABLE balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL)'
const UPSERT =
  'INSERT INTO balances (account, amount) VALUES (?, ?) ' +
  'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount'

interface Deposit {
  account: string
  amount: number
}

/** The i-th deposit: the same data for both sides. */
function deposit(i: number): Deposit {
  return { account: `acct-${(i * 7919) % ACCOUNTS}`, amount: 1 + (i % 100) }
}

/** The handler a user would write: one upsert per event through the transaction's cached statements. */
const balancesHandler: EventHandler<SqliteTx> = {
  name: 'balances',
  eventTypes: ['Deposited'],
  handle(event: AzothEvent, tx: SqliteTx) {
    const p = event.payload as Deposit
    tx.run(UPSERT, [p.account, p.amount])
  },
}

async function fillCanonical(dir: string, events: number): Promise<CanonicalStore> {
  const store = await openLmdbStore(dir, { durability: 'relaxed' })
  for (let from = 0; from < events; from += COMMIT_EVENTS) {
    const to = Math.min(events, from + COMMIT_EVENTS)
    await store.commit((tx) => {
      for (let i = from; i < to; i++) tx.appendEvent('Deposited', deposit(i))
    })
  }
  return store
}

/** Ours: a fresh projector (new name, cursor 0) applies every event of the canonical store per run. */
function projectorSide(dir: string, events: number): Measure {
  let canonical: CanonicalStore | undefined
  let store: SqliteProjectionStore | undefined
  let run = 0
  return {
    async setup() {
      mkdirSync(dir, { recursive: true })
      canonical = await fillCanonical(join(dir, 'canonical'), events)
      store = SqliteProjectionStore.open({ path: join(dir, 'projection.db') })
      await store.transaction((tx) => tx.exec(TABLE))
    },
    async run() {
      const p = new Projector({
        source: canonical!,
        store: store!,
        name: `run-${run++}`,
        handlers: [balancesHandler],
      })
      return (await p.runOnce()).events
    },
    async teardown() {
      await store?.close()
      await canonical?.close()
    },
  }
}

/**
 * Raw: better-sqlite3 alone doing the same upserts, 1,000 rows per transaction. With `precomputed`
 * the rows are plain objects built before timing; without, each is built on the fly (so a 1M-event
 * run does not hold 1M objects and the process's peak RSS stays about the projector's).
 */
function rawSide(dir: string, events: number, precomputed: boolean): Measure {
  let db: Database.Database | undefined
  let upsertChunk: ((from: number, to: number) => void) | undefined
  const deposits: Deposit[] = []
  return {
    setup() {
      mkdirSync(dir, { recursive: true })
      if (precomputed) for (let i = 0; i < events; i++) deposits.push(deposit(i))
      db = new Database(join(dir, 'raw.db'))
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      db.exec(TABLE)
      const stmt = db.prepare(UPSERT)
      upsertChunk = db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++) {
          const d = precomputed ? deposits[i]! : deposit(i)
          stmt.run(d.account, d.amount)
        }
      })
    },
    run() {
      for (let from = 0; from < events; from += RAW_TX_ROWS)
        upsertChunk!(from, Math.min(events, from + RAW_TX_ROWS))
      return events
    },
    teardown() {
      db?.close()
    },
  }
}

const section: Section = {
  name: 'projector',
  description:
    'Events read from the LMDB canonical store, decoded, routed to a handler upserting one balances row per event, ' +
    'cursor committed per 1,000-event batch; raw = better-sqlite3 doing the same upserts in 1,000-row transactions',
  cases({ quick, tmpDir }): Case[] {
    const apply = quick ? 20_000 : 100_000
    const catchUp = quick ? 100_000 : 1_000_000
    const params = {
      source: '@azothdb/store-lmdb (relaxed)',
      batch: 1_000,
      rawTxRows: RAW_TX_ROWS,
      synchronous: 'NORMAL',
      accounts: ACCOUNTS,
    }
    return [
      {
        name: `apply events: upsert one row per event (${apply.toLocaleString('en')} events)`,
        unit: 'events',
        params: { ...params, events: apply, rawRows: 'prebuilt objects' },
        ours: projectorSide(join(tmpDir, 'apply-ours'), apply),
        raw: rawSide(join(tmpDir, 'apply-raw'), apply, true),
        target: { minRatio: 0.7 },
      },
      {
        name: `catch-up over ${catchUp.toLocaleString('en')} events (peak RSS)`,
        unit: 'events',
        params: { ...params, events: catchUp, rawRows: 'built on the fly' },
        ours: projectorSide(join(tmpDir, 'catchup-ours'), catchUp),
        raw: rawSide(join(tmpDir, 'catchup-raw'), catchUp, false),
        showsMemory: true,
      },
    ]
  },
}

export default section
