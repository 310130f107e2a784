// Child process of the exactly-once crash test: regenerates the same deterministic events, then
// projects them into the SQLite file given as argv[2] until caught up. The parent SIGKILLs it at
// random moments (counted from its first commits, which it reports); any double or missing
// application shows up in the tables.
// argv: <sqlite path> <total events> <max events per batch> <LMDB dir | '-'> <failing ids, comma-separated | '-'>
//       <kill after commit n | 0>
// With failing ids, the handler throws on those events (after writing, so the savepoint must undo
// it) and the projector dead-letters them: every dead letter must be written exactly once.
// With n > 0 the child SIGKILLs itself right after its n-th projector transaction commits: a kill
// exactly between two commits, where a dead letter or a cursor committed apart from the rest would
// be lost or doubled.
import type { AzothEvent, EventHandler, EventSource } from '@azothdb/core'
import { SqliteProjectionStore, type SqliteTx } from '@azothdb/projection-sqlite'
import { ErrorStrategy, Projector } from '@azothdb/projector'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { BALANCES_DDL, type Deposit } from './balances.js'
import { appendDeposits } from './fixture.js'
import { MemoryEventSource } from './memory-event-source.js'

const [path, total, maxEvents, lmdbArg, failingArg, killAfterCommit] = [
  process.argv[2]!,
  Number(process.argv[3]),
  Number(process.argv[4]),
  process.argv[5] ?? '-',
  process.argv[6] ?? '-',
  Number(process.argv[7] ?? 0),
]
const lmdbDir = lmdbArg === '-' ? undefined : lmdbArg
const failing = new Set(failingArg === '-' ? [] : failingArg.split(',').map(Number))
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
// Each projector commit is reported ('commit'), so the parent can time its kills from the run's
// progress rather than from the clock, which a loaded machine stretches.
let commits = 0
const transaction = store.transaction.bind(store)
store.transaction = async (fn) => {
  const result = await transaction(fn)
  if (++commits === killAfterCommit) process.kill(process.pid, 'SIGKILL')
  process.stdout.write('commit\n')
  return result
}
const handler: EventHandler<SqliteTx> = {
  eventTypes: ['Deposited'],
  handle(event: AzothEvent, tx: SqliteTx) {
    const p = event.payload as Deposit
    // The primary key turns a second application of an event into a failure (failFast stops; with
    // deadLetter it becomes a dead letter the parent does not expect).
    tx.run('INSERT INTO applied (event_id) VALUES (?)', [event.id])
    tx.run(
      'INSERT INTO balances (account, amount, events) VALUES (?, ?, 1) ' +
        'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount, events = events + 1',
      [p.account, p.amount],
    )
    if (failing.has(event.id)) throw new Error(`crash child fails on event ${event.id}`)
  },
}
const projector = new Projector({
  source,
  store,
  name: 'crash',
  handlers: [handler],
  batch: { maxEvents },
  errorStrategy: failing.size > 0 ? ErrorStrategy.deadLetter() : ErrorStrategy.failFast(),
})
process.stdout.write('started\n')
await projector.runOnce()
await store.close()
if ('close' in source) await (source as { close(): Promise<void> }).close()
process.stdout.write('done\n')
