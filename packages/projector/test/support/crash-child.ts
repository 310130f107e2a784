// Child process of the exactly-once crash test: regenerates the same deterministic events, then
// projects them into the SQLite file given as argv[2] until caught up. The parent SIGKILLs it at
// random moments; any double or missing application shows up in the tables.
import type { AzothEvent, EventHandler, EventSource } from '@azoth/core'
import { SqliteProjectionStore, type SqliteTx } from '@azoth/projection-sqlite'
import { EventProcessor } from '@azoth/projector'
import { openLmdbStore } from '@azoth/store-lmdb'
import { BALANCES_DDL, type Deposit } from './balances.js'
import { appendDeposits } from './fixture.js'
import { MemoryEventSource } from './memory-event-source.js'

const [path, total, maxEvents, lmdbDir] = [
  process.argv[2]!,
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5],
]
// Either the LMDB canonical store the parent filled, or the same events regenerated in memory.
let source: EventSource
if (lmdbDir === undefined) {
  const memory = new MemoryEventSource()
  appendDeposits(memory, total)
  source = memory
} else {
  source = await openLmdbStore(lmdbDir)
}
// FULL: an fsync per batch makes a run last long enough to be killed in the middle.
const store = SqliteProjectionStore.open({ path, synchronous: 'FULL' })
await store.transaction((tx) => {
  tx.exec(BALANCES_DDL)
  tx.exec('CREATE TABLE IF NOT EXISTS applied (event_id INTEGER PRIMARY KEY)')
})
const handler: EventHandler<SqliteTx> = {
  eventTypes: ['Deposited'],
  handle(event: AzothEvent, tx: SqliteTx) {
    const p = event.payload as Deposit
    // The primary key turns a second application of an event into a failure (failFast stops).
    tx.run('INSERT INTO applied (event_id) VALUES (?)', [event.id])
    tx.run(
      'INSERT INTO balances (account, amount, events) VALUES (?, ?, 1) ' +
        'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount, events = events + 1',
      [p.account, p.amount],
    )
  },
}
const projector = new EventProcessor({
  source,
  store,
  name: 'crash',
  handlers: [handler],
  batch: { maxEvents },
})
process.stdout.write('started\n')
await projector.runOnce()
await store.close()
if ('close' in source) await (source as { close(): Promise<void> }).close()
process.stdout.write('done\n')
