/**
 * continuous-processor: a long-running projector woken by each commit, stopped gracefully.
 *
 * `projector.start()` runs the projector in the background: it catches up, then sleeps until a
 * commit in this process wakes it (no polling; `pollIntervalMs` is only the fallback for writers
 * in other processes), applying events in batches (`batch.maxLatencyMs` bounds how long it waits
 * to fill one). A producer commits orders meanwhile. On SIGINT (Ctrl-C) or SIGTERM, or by itself
 * after a few seconds (so CI can run it), the program stops the producer, waits for the projector
 * to catch up, calls `projector.stop()` (finishes the batch in flight) and closes the database.
 *
 * Run: pnpm example continuous-processor        (Ctrl-C to stop early; AZOTH_EXAMPLE_SECONDS=N to run longer)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Azoth, TypedValue } from 'azothdb'

const seconds = Number(process.env.AZOTH_EXAMPLE_SECONDS ?? 3)
const dir = mkdtempSync(join(tmpdir(), 'azoth-continuous-processor-'))
try {
  const db = await Azoth.open(dir)
  await db.migrate([
    {
      version: 1,
      name: 'order counts',
      up: (tx) => tx.exec('CREATE TABLE order_counts (customer TEXT PRIMARY KEY, orders INTEGER NOT NULL)'),
    },
  ])
  const projector = db.projector({
    name: 'order-counts',
    batch: { maxEvents: 500, maxLatencyMs: 20 },
    handlers: [
      {
        eventTypes: ['order-placed'],
        handle(event, tx) {
          const { customer } = event.payload as { customer: string }
          tx.run(
            'INSERT INTO order_counts (customer, orders) VALUES (?, 1) ' +
              'ON CONFLICT (customer) DO UPDATE SET orders = orders + 1',
            [customer],
          )
        },
      },
    ],
  })
  projector.start()

  // Stop on Ctrl-C / SIGTERM, or after `seconds`.
  const stop = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`\n${signal} received: stopping`)
    stop.abort()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const timer = setTimeout(() => stop.abort(), seconds * 1000)
  console.log(`producing orders for ${seconds} s (Ctrl-C to stop)`)

  // The producer: a few concurrent transactions at a time, as a server handling requests would.
  const customers = ['ada', 'grace', 'linus', 'barbara']
  let placed = 0
  let lastReport = Date.now()
  while (!stop.signal.aborted) {
    await Promise.all(
      customers.map((customer) =>
        db
          .transaction()
          .keys([`orders/${customer}`])
          .execute((tx) => {
            tx.update(`orders/${customer}`, (v) => TypedValue.i64((v?.asI64() ?? 0n) + 1n))
            tx.log('order-placed', { customer })
          }),
      ),
    )
    placed += customers.length
    if (Date.now() - lastReport >= 1000) {
      lastReport = Date.now()
      const m = projector.metrics()
      console.log(`placed ${placed} orders; projector at ${m.cursor} of ${m.head} (lag ${m.lag}, ${m.state})`)
    }
    await sleep(5)
  }
  clearTimeout(timer)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)

  // Graceful stop: let the projector drain what was committed, then stop it and close.
  while (projector.metrics().cursor < db.head()) await sleep(10)
  await projector.stop()
  const [row] = await db.query<{ total: number }>('SELECT sum(orders) AS total FROM order_counts')
  console.log(`projected ${row?.total} orders of ${placed}; projector state: ${projector.metrics().state}`)
  if (row?.total !== placed) throw new Error('the projection missed orders')
  await db.close()
  console.log('ok: continuous-processor')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
