/**
 * dlq-replay: inspecting the dead-letter queue, fixing the cause, replaying.
 *
 * A projector with the `deadLetter()` strategy parks events its handler cannot apply (here:
 * payments for customers the read model does not know yet) and moves on. `db.deadLetters` lists
 * them (`list`, `get`, `count`), and once the cause is fixed (the missing customer arrives)
 * they are replayed: by hand with `retry(id)` (re-applies now; the row is removed on success), or
 * by the automatic replayer of a running projector after `markRetry(id)` (due at once) or its
 * backoff. Rows that keep failing become `permanent` after `maxAttempts`; `remove(id)` drops a row
 * that will never apply (here: a payment for a customer who does not exist).
 *
 * Run: pnpm example dlq-replay
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Azoth, ErrorStrategy, type SqlEventHandler } from 'azothdb'
import { compactLogger } from '../compact-logger.js'

/** Customers come from `customer-added`; a payment needs its customer's row. */
const billing: SqlEventHandler = {
  name: 'billing',
  eventTypes: ['customer-added', 'payment'],
  handle(event, tx) {
    if (event.type === 'customer-added') {
      const { id } = event.payload as { id: string }
      tx.run('INSERT INTO customers (id, paid) VALUES (?, 0)', [id])
      return
    }
    const { customer, amount } = event.payload as { customer: string; amount: number }
    const changed = tx.run('UPDATE customers SET paid = paid + ? WHERE id = ?', [amount, customer]).changes
    if (changed === 0) throw new Error(`unknown customer ${customer}`)
  },
}

const dir = mkdtempSync(join(tmpdir(), 'azoth-dlq-replay-'))
try {
  const db = await Azoth.open(dir, { logger: compactLogger() })
  await db.migrate([
    {
      version: 1,
      name: 'customers',
      up: (tx) => tx.exec('CREATE TABLE customers (id TEXT PRIMARY KEY, paid INTEGER)'),
    },
  ])
  await db
    .writeBatch()
    .appendEvent('customer-added', { id: 'ada' })
    .appendEvent('payment', { customer: 'ada', amount: 10 })
    .appendEvent('payment', { customer: 'grace', amount: 20 }) // grace is not known yet
    .appendEvent('payment', { customer: 'linus', amount: 30 }) // nor linus
    .appendEvent('payment', { customer: 'nobody', amount: 99 }) // a bad id: this one never applies
    .commit()

  const projector = db.projector({
    name: 'billing',
    handlers: [billing],
    errorStrategy: ErrorStrategy.deadLetter(),
    deadLetterQueue: { scanIntervalMs: 20, initialDelayMs: 60_000, maxAttempts: 5 },
  })
  await projector.runOnce()
  console.log(
    `projector at ${projector.metrics().cursor} of ${db.head()}; dead letters: ${await db.deadLetters.count()}`,
  )
  for (const row of await db.deadLetters.list())
    console.log(
      `  #${row.id} event ${row.eventId} ${row.eventType}: ${row.errorMessage} (status ${row.status}, attempts ${row.attempts})`,
    )

  // A retry before the cause is fixed fails again and counts the attempt.
  const [graceRow, linusRow, nobodyRow] = await db.deadLetters.list()
  const early = await db.deadLetters.retry(graceRow!.id)
  console.log(
    `retry before the fix: applied=${early.applied}, status ${early.status}, error "${early.error?.message}"`,
  )

  // Fix the cause: the missing customers arrive.
  await db
    .writeBatch()
    .appendEvent('customer-added', { id: 'grace' })
    .appendEvent('customer-added', { id: 'linus' })
    .commit()
  await projector.runOnce()

  // Replay by hand: re-applied now, removed from the queue on success.
  const replayed = await db.deadLetters.retry(graceRow!.id)
  console.log(`manual retry of #${graceRow!.id}: applied=${replayed.applied}`)

  // A row that can never apply is removed (once recorded wherever such mistakes are handled).
  const removed = await db.deadLetters.remove(nobodyRow!.id)
  console.log(
    `removed #${nobodyRow!.id} (${nobodyRow!.errorMessage}): ${removed}; dead letters left: ${await db.deadLetters.count()}`,
  )

  // Or let the automatic replayer of a running projector do it: markRetry makes the row due now.
  await db.deadLetters.markRetry(linusRow!.id)
  projector.start()
  while ((await db.deadLetters.count()) > 0) await sleep(20)
  await projector.stop()
  console.log(`automatic replayer: ${JSON.stringify(projector.metrics().replayer)}`)

  const rows = await db.query<{ id: string; paid: number }>('SELECT id, paid FROM customers ORDER BY id')
  console.log('customers:', rows)
  if (rows.map((r) => r.paid).join() !== '10,20,30') throw new Error('payments were not all applied')
  await db.close()
  console.log('ok: dlq-replay')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
