/**
 * multiple-projections: several read models over one event log, each with its own cursor.
 *
 * Three projectors share the SQLite projection: `balances` (current balance per account),
 * `daily-volume` (an aggregate) and `large-transfers` (a filtered list). Each advances its own
 * cursor in the same transaction as its rows, so they can run at different times and speeds, and a
 * projector added later (here `large-transfers`) replays the whole log from event 1. `db.metrics()`
 * shows each projector's cursor and lag; one SQL query can join their tables.
 *
 * Run: pnpm example multiple-projections
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, TypedValue } from 'azothdb'

interface Transfer {
  readonly from: string
  readonly to: string
  readonly amount: number
  readonly day: string
}

const dir = mkdtempSync(join(tmpdir(), 'azoth-multiple-projections-'))
try {
  const db = await Azoth.open(dir)
  await db.migrate([
    {
      version: 1,
      name: 'read models',
      up: (tx) => {
        tx.exec('CREATE TABLE balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL)')
        tx.exec('CREATE TABLE daily_volume (day TEXT PRIMARY KEY, transfers INTEGER, amount INTEGER)')
        tx.exec(
          'CREATE TABLE large_transfers (event_id INTEGER PRIMARY KEY, src TEXT, dst TEXT, amount INTEGER)',
        )
      },
    },
  ])
  const accounts = ['ada', 'grace', 'linus']
  await db
    .writeBatch()
    .put('acct/ada', 1_000n)
    .put('acct/grace', 1_000n)
    .put('acct/linus', 1_000n)
    .appendEvent('opened', { accounts, amount: 1_000 })
    .commit()

  const transfer = (t: Transfer) =>
    db
      .transaction()
      .requireMin(`acct/${t.from}`, t.amount)
      .keys([`acct/${t.to}`])
      .execute((tx) => {
        tx.update(`acct/${t.from}`, (v) => TypedValue.i64(v!.asI64() - BigInt(t.amount)))
        tx.update(`acct/${t.to}`, (v) => TypedValue.i64(v!.asI64() + BigInt(t.amount)))
        tx.log('transferred', t)
      })
  const day = (i: number) => `2026-01-0${1 + (i % 3)}`
  for (let i = 0; i < 30; i++)
    await transfer({
      from: accounts[i % 3]!,
      to: accounts[(i + 1) % 3]!,
      amount: 10 + ((i * 37) % 200),
      day: day(i),
    })

  const upsertBalance =
    'INSERT INTO balances VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount'
  const balances = db.projector({
    name: 'balances',
    handlers: [
      {
        eventTypes: ['opened', 'transferred'],
        handle(event, tx) {
          if (event.type === 'opened') {
            const { accounts, amount } = event.payload as { accounts: string[]; amount: number }
            for (const account of accounts) tx.run(upsertBalance, [account, amount])
            return
          }
          const t = event.payload as Transfer
          tx.run(upsertBalance, [t.from, -t.amount])
          tx.run(upsertBalance, [t.to, t.amount])
        },
      },
    ],
  })
  const dailyVolume = db.projector({
    name: 'daily-volume',
    handlers: [
      {
        eventTypes: ['transferred'],
        handle(event, tx) {
          const t = event.payload as Transfer
          tx.run(
            'INSERT INTO daily_volume VALUES (?, 1, ?) ON CONFLICT (day) DO UPDATE SET transfers = transfers + 1, amount = amount + excluded.amount',
            [t.day, t.amount],
          )
        },
      },
    ],
  })

  await balances.runOnce()
  for (let i = 30; i < 40; i++)
    await transfer({ from: accounts[i % 3]!, to: accounts[(i + 2) % 3]!, amount: 150, day: day(i) })
  await dailyVolume.runOnce() // sees all 40; balances is 10 behind until it runs again

  const m = await db.metrics()
  for (const [name, p] of Object.entries(m.projectors))
    console.log(`${name}: cursor ${p.cursor}, lag ${p.lag}`)
  await balances.runOnce()

  // A projector added later starts from event 1.
  const largeTransfers = db.projector({
    name: 'large-transfers',
    handlers: [
      {
        eventTypes: ['transferred'],
        handle(event, tx) {
          const t = event.payload as Transfer
          if (t.amount >= 150)
            tx.run('INSERT INTO large_transfers VALUES (?, ?, ?, ?)', [event.id, t.from, t.to, t.amount])
        },
      },
    ],
  })
  const late = await largeTransfers.runOnce()
  console.log(`large-transfers joined late and replayed ${late.events} events from event 1`)

  console.log('balances:', await db.query('SELECT account, amount FROM balances ORDER BY account'))
  console.log('daily volume:', await db.query('SELECT * FROM daily_volume ORDER BY day'))
  const joined = await db.query<{ account: string; amount: number; large_out: number }>(
    `SELECT b.account, b.amount, count(l.event_id) AS large_out
       FROM balances b LEFT JOIN large_transfers l ON l.src = b.account
      GROUP BY b.account ORDER BY b.account`,
  )
  console.log('balances joined with large transfers:', joined)

  // The projected balances match the state.
  for (const row of joined) {
    if (BigInt(row.amount) !== db.get(`acct/${row.account}`).asI64())
      throw new Error(`${row.account} differs`)
  }
  await db.close()
  console.log('ok: multiple-projections')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
