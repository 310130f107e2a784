/**
 * event-handlers: custom event handlers that keep SQL read models current.
 *
 * Shows `db.migrate()` (versioned schema of the SQLite projection), `SqlEventHandler`s that
 * route by event type (or `'*'` for all) and write through the projector's SQLite transaction
 * (`tx.run`, `tx.get`), `db.projector({ name, handlers })`, `runOnce()` (catch up to the head),
 * `db.query()` on the read side, the projector's cursor (each event applied exactly once, also
 * across restarts), and `rebuild()` (reset the tables and replay every event).
 *
 * Run: pnpm example event-handlers
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, type SqlEventHandler, TypedValue } from 'azothdb'

interface OrderPlaced {
  readonly orderId: string
  readonly customer: string
  readonly total: number
}
interface OrderShipped {
  readonly orderId: string
}

/** One row per order, kept up to date from `order-placed` and `order-shipped`. */
const ordersTable: SqlEventHandler = {
  name: 'orders',
  eventTypes: ['order-placed', 'order-shipped'],
  handle(event, tx) {
    if (event.type === 'order-placed') {
      const p = event.payload as OrderPlaced
      tx.run('INSERT INTO orders (id, customer, total, status) VALUES (?, ?, ?, ?)', [
        p.orderId,
        p.customer,
        p.total,
        'placed',
      ])
    } else {
      const p = event.payload as OrderShipped
      tx.run("UPDATE orders SET status = 'shipped' WHERE id = ?", [p.orderId])
    }
  },
  reset(tx) {
    tx.run('DELETE FROM orders')
  },
}

/** Revenue per customer: an aggregate that reads its own table while updating it. */
const revenueTable: SqlEventHandler = {
  name: 'revenue',
  eventTypes: ['order-placed'],
  handle(event, tx) {
    const p = event.payload as OrderPlaced
    const row = tx.get<{ total: number }>('SELECT total FROM revenue WHERE customer = ?', [p.customer])
    if (row === undefined)
      tx.run('INSERT INTO revenue (customer, total) VALUES (?, ?)', [p.customer, p.total])
    else tx.run('UPDATE revenue SET total = ? WHERE customer = ?', [row.total + p.total, p.customer])
  },
  reset(tx) {
    tx.run('DELETE FROM revenue')
  },
}

/** An audit trail of every event type, whatever it is. */
const auditTable: SqlEventHandler = {
  name: 'audit',
  eventTypes: '*',
  handle(event, tx) {
    tx.run('INSERT INTO audit (event_id, type) VALUES (?, ?)', [event.id, event.type])
  },
  reset(tx) {
    tx.run('DELETE FROM audit')
  },
}

const dir = mkdtempSync(join(tmpdir(), 'azoth-event-handlers-'))
try {
  const db = await Azoth.open(dir)
  await db.migrate([
    {
      version: 1,
      name: 'orders and revenue',
      up: (tx) => {
        tx.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, customer TEXT, total REAL, status TEXT)')
        tx.exec('CREATE TABLE revenue (customer TEXT PRIMARY KEY, total REAL)')
      },
    },
    { version: 2, name: 'audit', up: (tx) => tx.exec('CREATE TABLE audit (event_id INTEGER, type TEXT)') },
  ])

  const placeOrder = (orderId: string, customer: string, total: number) =>
    db
      .transaction()
      .keys([`order/${orderId}`])
      .execute((tx) => {
        tx.set(`order/${orderId}`, TypedValue.json({ customer, total }))
        tx.log('order-placed', { orderId, customer, total } satisfies OrderPlaced)
      })
  await placeOrder('o1', 'ada', 30)
  await placeOrder('o2', 'ada', 12.5)
  await placeOrder('o3', 'grace', 99)
  await db
    .writeBatch()
    .appendEvent('order-shipped', { orderId: 'o1' } satisfies OrderShipped)
    .commit()

  const projector = db.projector({ name: 'shop', handlers: [ordersTable, revenueTable, auditTable] })
  const stats = await projector.runOnce()
  console.log(`applied ${stats.events} events, cursor ${stats.cursor} of head ${db.head()}`)

  console.log('orders:', await db.query('SELECT id, customer, total, status FROM orders ORDER BY id'))
  console.log('revenue:', await db.query('SELECT customer, total FROM revenue ORDER BY total DESC'))

  // Running again applies nothing: the cursor advanced in the same SQLite transaction as the rows.
  console.log('second run applied', (await projector.runOnce()).events, 'events')

  // Rebuild: every handler's reset runs, the cursor goes back to 0, every event is replayed.
  const rebuilt = await projector.rebuild()
  const [audit] = await db.query<{ n: number }>('SELECT count(*) AS n FROM audit')
  console.log(`rebuild replayed ${rebuilt.events} events; audit rows: ${audit?.n}`)
  if (audit?.n !== 4) throw new Error('the audit table should hold one row per event')

  await db.close()
  console.log('ok: event-handlers')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
