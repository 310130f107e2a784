import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { type AzothEvent, decodeEvent, type EventHandler } from '@azoth/core'
import { SqliteProjectionStore, type SqliteTx } from '@azoth/projection-sqlite'
import { EventProcessor } from '@azoth/projector'
import { openLmdbStore } from '@azoth/store-lmdb'
import Database from 'better-sqlite3'

const dir = '/tmp/prof/proj'
const N = 200_000
const canonical = await openLmdbStore(join(dir, 'c'), { durability: 'relaxed' })
const UPSERT =
  'INSERT INTO balances (account, amount) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount'
const TABLE = 'CREATE TABLE balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL)'
for (const f of ['p.db', 'p.db-wal', 'p.db-shm', 'r.db', 'r.db-wal', 'r.db-shm'])
  rmSync(join(dir, f), { force: true })
const store = SqliteProjectionStore.open({ path: join(dir, 'p.db') })
await store.transaction((tx) => tx.exec(TABLE))
const h: EventHandler<SqliteTx> = {
  name: 'b',
  eventTypes: ['Deposited'],
  handle(e: AzothEvent, tx: SqliteTx) {
    const p = e.payload as { account: string; amount: number }
    tx.run(UPSERT, [p.account, p.amount])
  },
}
const db = new Database(join(dir, 'r.db'))
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec(TABLE)
const stmt = db.prepare(UPSERT)
const pre: { account: string; amount: number }[] = []
for (let i = 0; i < N; i++) pre.push({ account: `acct-${(i * 7919) % 10000}`, amount: 1 + (i % 100) })
const rawTx = db.transaction((from: number) => {
  for (let i = from; i < from + 1000; i++) {
    const d = pre[i]!
    stmt.run(d.account, d.amount)
  }
})
const decTx = db.transaction((evs: AzothEvent[]) => {
  for (const e of evs) {
    const d = e.payload as { account: string; amount: number }
    stmt.run(d.account, d.amount)
  }
})
const res: Record<string, number[]> = { raw: [], decode: [], stream: [], readonly: [], ours: [] }
const begin = db.prepare('BEGIN'),
  commit = db.prepare('COMMIT')
for (let r = 0; r < 6; r++) {
  let t0 = performance.now()
  for (let from = 0; from < N; from += 1000) rawTx(from)
  res.raw!.push(performance.now() - t0)
  t0 = performance.now()
  let batch: AzothEvent[] = []
  for (const rec of canonical.events()) {
    batch.push(decodeEvent(rec.id, rec.bytes))
    if (batch.length === 1000) {
      decTx(batch)
      batch = []
    }
  }
  res.decode!.push(performance.now() - t0)
  t0 = performance.now()
  let k = 0
  begin.run()
  for (const rec of canonical.events()) {
    const d = decodeEvent(rec.id, rec.bytes).payload as { account: string; amount: number }
    stmt.run(d.account, d.amount)
    if (++k === 1000) {
      commit.run()
      begin.run()
      k = 0
    }
  }
  commit.run()
  res.stream!.push(performance.now() - t0)
  t0 = performance.now()
  let z = 0
  for (const rec of canonical.events()) {
    const d = decodeEvent(rec.id, rec.bytes).payload as { account: string; amount: number }
    z += d.amount
  }
  res.readonly!.push(performance.now() - t0)
  t0 = performance.now()
  await new EventProcessor({ source: canonical, store, name: `r${r}`, handlers: [h] }).runOnce()
  res.ours!.push(performance.now() - t0)
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!
for (const [k, v] of Object.entries(res))
  console.log(k.padEnd(8), ((med(v) * 1e6) / N).toFixed(0), 'ns/event', (med(res.raw!) / med(v)).toFixed(2))
await store.close()
await canonical.close()
db.close()
