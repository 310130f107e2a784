import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { AzothEvent, EventHandler } from '@azoth/core'
import { SqliteProjectionStore, type SqliteTx } from '@azoth/projection-sqlite'
import { EventProcessor } from '@azoth/projector'
import { openLmdbStore } from '@azoth/store-lmdb'

const dir = '/tmp/prof/proj'
const N = 200_000
const fresh = !existsSync(dir)
mkdirSync(dir, { recursive: true })
const canonical = await openLmdbStore(join(dir, 'c'), { durability: 'relaxed' })
if (fresh)
  for (let from = 0; from < N; from += 1000)
    await canonical.commit((tx) => {
      for (let i = from; i < from + 1000; i++)
        tx.appendEvent('Deposited', { account: `acct-${(i * 7919) % 10000}`, amount: 1 + (i % 100) })
    })
rmSync(join(dir, 'p.db'), { force: true })
rmSync(join(dir, 'p.db-wal'), { force: true })
const store = SqliteProjectionStore.open({ path: join(dir, 'p.db') })
const UPSERT =
  'INSERT INTO balances (account, amount) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount'
await store.transaction((tx) =>
  tx.exec('CREATE TABLE balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL)'),
)
const mode = process.argv[2] ?? 'full'
const h: EventHandler<SqliteTx> = {
  name: 'b',
  eventTypes: ['Deposited'],
  handle(e: AzothEvent, tx: SqliteTx) {
    const p = e.payload as { account: string; amount: number }
    if (mode === 'full') tx.run(UPSERT, [p.account, p.amount])
  },
}
for (let r = 0; r < 4; r++) {
  const t0 = performance.now()
  const n = (await new EventProcessor({ source: canonical, store, name: `r${r}`, handlers: [h] }).runOnce())
    .events
  console.log(mode, (((performance.now() - t0) * 1e6) / n).toFixed(0), 'ns/event')
}
const t0 = performance.now()
let k = 0
for (const e of canonical.events()) {
  k += e.bytes.length
}
console.log('raw iterate', (((performance.now() - t0) * 1e6) / N).toFixed(0))
await store.close()
await canonical.close()
