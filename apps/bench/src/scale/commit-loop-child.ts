// A writer to be SIGKILLed: opens the database in argv[2] and commits 1 key + 1 event per
// transaction from 64 callers without end, printing `ready` once `READY_AFTER` commits are
// acknowledged, so the parent kills it mid-load (commits queued, a group in flight).
// argv: <database directory> <number of keys in the database>

import { Azoth, TypedValue } from 'azothdb'
import { depositOf, EVENT_TYPE, keyOf, spreadIndex } from './scale-data.js'

const READY_AFTER = 256
const CALLERS = 64

const [dir, keysArg] = process.argv.slice(2)
const keys = Number(keysArg)
if (dir === undefined || !Number.isSafeInteger(keys) || keys <= 0) {
  process.stderr.write('usage: commit-loop-child <database directory> <keys>\n')
  process.exit(2)
}
const db = await Azoth.open(dir, { create: false })
let next = Math.floor(Math.random() * 1e9)
let acknowledged = 0
async function caller(): Promise<never> {
  for (;;) {
    const i = next++
    const key = keyOf(spreadIndex(i, keys))
    await db
      .transaction()
      .keys([key])
      .execute((tx) => {
        tx.set(key, TypedValue.i64(i))
        tx.log(EVENT_TYPE, depositOf(i))
      })
    if (++acknowledged === READY_AFTER) process.stdout.write('ready\n')
  }
}
await Promise.all(Array.from({ length: CALLERS }, caller))
