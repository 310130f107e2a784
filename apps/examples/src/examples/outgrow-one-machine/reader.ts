/**
 * A reader of outgrow-one-machine: an application server on another host that queries the read
 * model in PostgreSQL with plain `pg` (any PostgreSQL client would do). It knows the connection
 * string only. Each query reads the rows and the projector's cursor in one snapshot (REPEATABLE
 * READ): the projector commits its rows and its cursor in one transaction, so what a reader sees is
 * always the read model of exactly the first `cursor` events, never half a batch.
 *
 * It queries while the writer writes; when the writer sends the head on stdin, it waits until the
 * read model has caught up to it and prints the balances as one JSON line.
 *
 * Run: tsx reader.ts <postgres connection string>   (then write the head to stdin)
 */
import { createInterface } from 'node:readline'
import pg from 'pg'

const [url] = process.argv.slice(2)
const client = new pg.Client({ connectionString: url, options: '-c default_transaction_read_only=on' })
await client.connect()

let head: number | undefined
createInterface({ input: process.stdin }).once('line', (line) => {
  head = Number(line)
})

interface Snapshot {
  cursor: number
  balances: Record<string, { amount: number; deposits: number }>
}

async function snapshot(): Promise<Snapshot> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ')
  try {
    const cursor = await client.query<{ event_id: string }>(
      "SELECT event_id FROM _azoth_cursors WHERE projector = 'balances'",
    )
    const rows = await client.query<{ account: string; amount: string; deposits: number }>(
      'SELECT account, amount, deposits FROM balances ORDER BY account',
    )
    const balances: Snapshot['balances'] = {}
    for (const r of rows.rows) balances[r.account] = { amount: Number(r.amount), deposits: r.deposits }
    return { cursor: Number(cursor.rows[0]?.event_id ?? 0), balances }
  } finally {
    await client.query('COMMIT')
  }
}

let queries = 0
let last: Snapshot = { cursor: 0, balances: {} }
// The table appears with the writer's migration; until then there is nothing to read.
while (head === undefined || last.cursor < head) {
  try {
    last = await snapshot()
    queries++
    // Each snapshot is the fold of events 1..cursor: the deposits it counts equal the cursor.
    const deposits = Object.values(last.balances).reduce((n, b) => n + b.deposits, 0)
    if (deposits !== last.cursor)
      throw new Error(`read model of ${deposits} deposits at cursor ${last.cursor}`)
  } catch (e) {
    if ((e as { code?: string }).code !== '42P01') throw e // undefined_table: not migrated yet
  }
  await new Promise((r) => setTimeout(r, 20))
}
console.log(`${queries} consistent snapshots (rows = events 1..cursor) until caught up`)
console.log(`balances at event ${last.cursor}: ${JSON.stringify(last.balances)}`)
await client.end()
