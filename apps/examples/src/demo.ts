/**
 * The end-to-end demo (`pnpm demo`): a small ledger on Azoth.
 *
 * 1. Opens a database under `./data` of the directory the command was run from (wiped first, so
 *    reruns start fresh).
 * 2. Opens 1,000 accounts in one atomic batch.
 * 3. Runs concurrent transfers: each is a transaction whose preflight `requireMin` checks that
 *    the source can pay, under stripe locks, so no account ever goes negative.
 * 4. A projector, started before the transfers and woken by each commit, keeps two SQL tables
 *    in SQLite current; the demo checks them against the state and prints a few queries.
 * 5. Takes a verified backup into `./data-backup`, restores it into `./data-restored` and
 *    queries the restored copy.
 *
 * Environment: `DEMO_TRANSFERS` (default 50,000), `DEMO_CONCURRENCY` (default 64).
 */
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { Azoth, isAzothError, type SqlEventHandler, TypedValue } from 'azothdb'
import { printTable } from './print-table.js'
import { Progress } from './progress.js'

const ACCOUNTS = 1_000
const OPENING_BALANCE = 1_000
const TRANSFERS = Number(process.env.DEMO_TRANSFERS ?? 50_000)
const CONCURRENCY = Number(process.env.DEMO_CONCURRENCY ?? 64)

// `pnpm demo` runs this script in apps/examples; INIT_CWD is where the user typed the command.
const cwd = process.env.INIT_CWD ?? process.cwd()
const dataDir = resolve(cwd, 'data')
const backupDir = resolve(cwd, 'data-backup')
const restoredDir = resolve(cwd, 'data-restored')

interface Transferred {
  readonly from: string
  readonly to: string
  readonly amount: number
}

/** A seeded pseudo-random generator (mulberry32): the same run every time. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const accountKey = (n: number) => `account/${String(n).padStart(4, '0')}`

/** Keeps `accounts` and `transfers` current from the ledger's events. */
const ledgerTables: SqlEventHandler = {
  name: 'ledger-tables',
  eventTypes: ['accounts-opened', 'transferred'],
  handle(event, tx) {
    if (event.type === 'accounts-opened') {
      const { accounts, balance } = event.payload as { accounts: string[]; balance: number }
      for (const id of accounts)
        tx.run('INSERT INTO accounts (id, balance, sent, received) VALUES (?, ?, 0, 0)', [id, balance])
      return
    }
    const t = event.payload as Transferred
    tx.run('UPDATE accounts SET balance = balance - ?, sent = sent + 1 WHERE id = ?', [t.amount, t.from])
    tx.run('UPDATE accounts SET balance = balance + ?, received = received + 1 WHERE id = ?', [
      t.amount,
      t.to,
    ])
    tx.run('INSERT INTO transfers (event_id, src, dst, amount) VALUES (?, ?, ?, ?)', [
      event.id,
      t.from,
      t.to,
      t.amount,
    ])
  },
}

const started = performance.now()
for (const dir of [dataDir, backupDir, restoredDir]) rmSync(dir, { recursive: true, force: true })

console.log(`Azoth demo: a ledger in ${dataDir}`)
const db = await Azoth.open(dataDir) // durability 'sync': a commit resolves once it is on disk
await db.migrate([
  {
    version: 1,
    name: 'ledger',
    up: (tx) => {
      tx.exec(
        'CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER NOT NULL, sent INTEGER, received INTEGER)',
      )
      tx.exec('CREATE TABLE transfers (event_id INTEGER PRIMARY KEY, src TEXT, dst TEXT, amount INTEGER)')
      tx.exec('CREATE INDEX transfers_by_src ON transfers (src)')
    },
  },
])

// 1,000 accounts in one atomic batch, with the event that tells the projection about them.
const opening = db.writeBatch()
const ids: string[] = []
for (let n = 0; n < ACCOUNTS; n++) {
  ids.push(accountKey(n))
  opening.put(accountKey(n), TypedValue.i64(OPENING_BALANCE))
}
await opening.appendEvent('accounts-opened', { accounts: ids, balance: OPENING_BALANCE }).commit()
console.log(`opened ${ACCOUNTS.toLocaleString('en-US')} accounts with ${OPENING_BALANCE} each`)

// The projector runs in the background, woken by each commit.
const projector = db.projector({ name: 'ledger', handlers: [ledgerTables], batch: { maxEvents: 2_000 } })
projector.start()

// Concurrent transfers: CONCURRENCY callers, each awaiting one transaction at a time.
const next = random(42)
let issued = 0
let committed = 0
let rejected = 0
const transferBar = new Progress('transfers', TRANSFERS)
const transfersStarted = performance.now()
async function caller(): Promise<void> {
  while (issued < TRANSFERS) {
    issued++
    const from = accountKey(Math.floor(next() * ACCOUNTS))
    let to = accountKey(Math.floor(next() * ACCOUNTS))
    if (to === from) to = accountKey((Number(from.slice(8)) + 1) % ACCOUNTS)
    const amount = 1 + Math.floor(next() ** 3 * 900) // mostly small, a few large enough to be refused
    try {
      await db
        .transaction()
        .requireMin(from, amount) // preflight: the source can pay (else PREFLIGHT_FAILED, nothing written)
        .keys([to])
        .execute((tx) => {
          tx.update(from, (v) => TypedValue.i64(v!.asI64() - BigInt(amount)))
          tx.update(to, (v) => TypedValue.i64(v!.asI64() + BigInt(amount)))
          tx.log('transferred', { from, to, amount } satisfies Transferred)
        })
      committed++
    } catch (e) {
      if (!isAzothError(e, 'PREFLIGHT_FAILED')) throw e
      rejected++
    }
    if ((committed + rejected) % 250 === 0) transferBar.update(committed + rejected, 'tx')
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, caller))
transferBar.update(TRANSFERS, 'tx')
transferBar.stop()
const transferSeconds = (performance.now() - transfersStarted) / 1000
const txPerSecond = Math.round(TRANSFERS / transferSeconds)
console.log(
  `${TRANSFERS.toLocaleString('en-US')} transfers by ${CONCURRENCY} concurrent callers in ${transferSeconds.toFixed(1)} s ` +
    `(${txPerSecond.toLocaleString('en-US')} tx/s): ${committed.toLocaleString('en-US')} committed, ` +
    `${rejected.toLocaleString('en-US')} refused by requireMin`,
)

// Wait for the projection to reach the head.
const head = db.head()
const projectionBar = new Progress('projection catch-up', head)
while (projector.metrics().cursor < head) {
  projectionBar.update(Math.max(0, projector.metrics().cursor), 'events')
  await new Promise((r) => setTimeout(r, 50))
}
projectionBar.update(head, 'events')
projectionBar.stop()
await projector.stop()
console.log(`projection at event ${projector.metrics().cursor} of ${head}`)

// Check: money is conserved, nobody is negative, and SQL agrees with the state, account by account.
let stateTotal = 0n
const stateBalances = new Map<string, bigint>()
for (const { key, value } of db.scan('account/')) {
  stateBalances.set(String(key), value.asI64())
  stateTotal += value.asI64()
}
const projected = await db.query<{ id: string; balance: number }>('SELECT id, balance FROM accounts')
const mismatches = projected.filter((row) => BigInt(row.balance) !== stateBalances.get(row.id)).length
const negative = [...stateBalances.values()].filter((b) => b < 0n).length
if (
  stateTotal !== BigInt(ACCOUNTS * OPENING_BALANCE) ||
  mismatches > 0 ||
  negative > 0 ||
  projected.length !== ACCOUNTS
)
  throw new Error(`ledger check failed: total ${stateTotal}, ${mismatches} mismatches, ${negative} negative`)
console.log(
  `checked: total ${stateTotal.toLocaleString('en-US')} conserved, no negative balance, SQL = state for every account`,
)

printTable(
  'Richest accounts (SQL on the projection)',
  await db.query(
    'SELECT id AS account, balance, sent, received FROM accounts ORDER BY balance DESC, id LIMIT 5',
  ),
)
printTable(
  'Transfers by size',
  await db.query(
    `SELECT CASE WHEN amount < 10 THEN '1-9' WHEN amount < 100 THEN '10-99' ELSE '100+' END AS size,
            count(*) AS transfers, sum(amount) AS volume, round(avg(amount), 1) AS average
       FROM transfers GROUP BY size ORDER BY min(amount)`,
  ),
)
const metrics = await db.metrics()
const latency = metrics.transactions.latencyMs
printTable('Commit pipeline (db.metrics())', [
  {
    committed: metrics.transactions.committed,
    'preflight failures': metrics.transactions.preflightFailures,
    'group commits': metrics.commits.groups,
    'mean group size': metrics.commits.meanGroupSize,
    'p50 ms': latency.p50,
    'p99 ms': latency.p99,
  },
])

// Backup while open, then restore into a new directory and query the copy.
const backupStarted = performance.now()
const manifest = await db.backupTo(backupDir)
const digest = db.stateDigest()
await db.close()
const restored = await Azoth.restoreFrom(backupDir, restoredDir)
const [restoredTotals] = await restored.query<{ accounts: number; total: number }>(
  'SELECT count(*) AS accounts, sum(balance) AS total FROM accounts',
)
if (restored.stateDigest() !== digest || restored.head() !== manifest.sealedEventId)
  throw new Error('the restored database differs from the original')
console.log(
  `\nbackup: ${manifest.files.length} files checksummed, sealed at event ${manifest.sealedEventId}, in ${backupDir}`,
)
console.log(
  `restore: ${restoredDir}, state digest ${digest.slice(0, 16)}… matches, ` +
    `${restoredTotals?.accounts} accounts totalling ${restoredTotals?.total?.toLocaleString('en-US')} in SQL ` +
    `(${((performance.now() - backupStarted) / 1000).toFixed(1)} s)`,
)
await restored.close()

console.log(
  `demo finished: ${committed.toLocaleString('en-US')} transfers committed, ${rejected.toLocaleString('en-US')} refused, ` +
    `${head.toLocaleString('en-US')} events projected, backup restored and verified in ${((performance.now() - started) / 1000).toFixed(1)} s`,
)
