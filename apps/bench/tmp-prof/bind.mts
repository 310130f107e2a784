import { rmSync } from 'node:fs'
import Database from 'better-sqlite3'

for (const f of ['/tmp/prof/b.db', '/tmp/prof/b.db-wal', '/tmp/prof/b.db-shm']) rmSync(f, { force: true })
const db = new Database('/tmp/prof/b.db')
db.pragma('journal_mode = WAL')
db.pragma('synchronous = NORMAL')
db.exec('CREATE TABLE balances (account TEXT PRIMARY KEY, amount INTEGER NOT NULL)')
const stmt = db.prepare(
  'INSERT INTO balances (account, amount) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount',
)
const N = 200_000
const accts = Array.from({ length: N }, (_, i) => `acct-${(i * 7919) % 10000}`)
const modes: Record<string, (i: number) => void> = {
  args: (i) => {
    stmt.run(accts[i], 1 + (i % 100))
  },
  array: (i) => {
    stmt.run([accts[i], 1 + (i % 100)])
  },
  spread: (i) => {
    const p = [accts[i], 1 + (i % 100)]
    stmt.run(...p)
  },
  freshString: (i) => {
    stmt.run('acct-' + ((i * 7919) % 10000), 1 + (i % 100))
  },
}
const res: Record<string, number[]> = {}
for (let r = 0; r < 5; r++)
  for (const [k, f] of Object.entries(modes)) {
    const tx = db.transaction((from: number) => {
      for (let i = from; i < from + 1000; i++) f(i)
    })
    const t0 = performance.now()
    for (let from = 0; from < N; from += 1000) tx(from)
    ;(res[k] ??= []).push(performance.now() - t0)
  }
for (const [k, v] of Object.entries(res))
  console.log(k.padEnd(12), ((Math.min(...v) * 1e6) / N).toFixed(0), 'ns/row')
