/**
 * deterministic-replay: the same transactions give the same database.
 *
 * Event timestamps come from the database clock (the `clock` option; default: the wall clock).
 * With `fixedClock(ms)` (or a `ManualClock` that moves only when told), running the same
 * transactions in the same order into two fresh databases gives equal state digests
 * (`db.stateDigest()`, a SHA-256 over the deterministic encoding of every key and value) and equal
 * events, timestamps included. Tests can compare a run against a recorded digest, and a replay
 * of the same commands can be checked against the original; one changed amount changes the digest.
 *
 * Run: pnpm example deterministic-replay
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Azoth, fixedClock, TypedValue } from 'azothdb'

const CLOCK = fixedClock(Date.UTC(2024, 0, 1))

type Transfer = { readonly from: string; readonly to: string; readonly amount: bigint }
const commands: Transfer[] = [
  { from: 'alice', to: 'bob', amount: 30n },
  { from: 'bob', to: 'carol', amount: 10n },
  { from: 'carol', to: 'alice', amount: 5n },
  { from: 'alice', to: 'carol', amount: 15n },
]

/** Applies the commands to a fresh database; returns what a replay must reproduce. */
async function run(name: string, transfers: readonly Transfer[]) {
  const dir = mkdtempSync(join(tmpdir(), `azoth-deterministic-replay-${name}-`))
  try {
    await using db = await Azoth.open(dir, { clock: CLOCK })
    await db.writeBatch().put('alice', 100n).put('bob', 100n).put('carol', 100n).commit()
    // One after the other: the commit order, and so every event id, is the command order.
    for (const t of transfers) {
      await db
        .transaction()
        .requireMin(t.from, t.amount)
        .keys([t.to])
        .execute((tx) => {
          tx.update(t.from, (v) => TypedValue.i64(v!.asI64() - t.amount))
          tx.update(t.to, (v) => TypedValue.i64(v!.asI64() + t.amount))
          tx.log('transferred', { from: t.from, to: t.to, amount: Number(t.amount) })
        })
    }
    const events = [...db.events()]
    return {
      head: db.head(),
      stateDigest: db.stateDigest(),
      eventsDigest: createHash('sha256').update(JSON.stringify(events)).digest('hex'),
      timestamps: new Set(events.map((e) => new Date(e.timestamp).toISOString())),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const a = await run('a', commands)
const b = await run('b', commands)
for (const [name, r] of [
  ['a', a],
  ['b', b],
] as const)
  console.log(
    `run ${name}: head ${r.head}, state digest ${r.stateDigest.slice(0, 16)}…, events digest ${r.eventsDigest.slice(0, 16)}…`,
  )
console.log(
  `same transactions, same clock: equal state digests ${a.stateDigest === b.stateDigest}, ` +
    `equal events ${a.eventsDigest === b.eventsDigest}, timestamps ${[...a.timestamps].join()}`,
)

// The digest covers every value: a replay that diverges anywhere shows it.
const changed = await run('changed', [{ ...commands[0]!, amount: 31n }, ...commands.slice(1)])
console.log(`one amount changed: state digest differs ${changed.stateDigest !== a.stateDigest}`)
if (
  a.stateDigest !== b.stateDigest ||
  a.eventsDigest !== b.eventsDigest ||
  changed.stateDigest === a.stateDigest
)
  throw new Error('the runs are not deterministic')
console.log('ok: deterministic-replay')
