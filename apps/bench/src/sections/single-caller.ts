import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, TypedValue } from 'azothdb'
import { encode as cborEncode } from 'cbor-x'
import { type Database, open, type RootDatabase } from 'lmdb'
import type { Case, Measure, Section } from '../harness.js'

type Bytes = Uint8Array
type Durability = 'sync' | 'relaxed'
type EventLogKind = 'lmdb' | 'file'

const PAYLOAD = { from: 'acct:00000001', to: 'acct:00000002', amount: 100, memo: 'x'.repeat(40) }
const keyOf = (i: number) => `acct:${String(i % 1000).padStart(8, '0')}`
let files = 0
/** A fresh path in `dir` for each side of each case. */
const fresh = (dir: string, name: string) => join(dir, `${name}-${++files}`)

/** One caller awaiting each commit before the next: the first figure a user measures. */
function ours(dir: string, txs: number, eventLog: EventLogKind, durability: Durability): Measure {
  let db: Azoth
  let n = 0
  return {
    setup: async () => {
      db = await Azoth.open(fresh(dir, `ours-${eventLog}-${durability}`), {
        eventLog,
        durability,
      })
    },
    run: async () => {
      for (let k = 0; k < txs; k++) {
        const i = n++
        const key = keyOf(i)
        await db
          .transaction()
          .keys([key])
          .execute((tx) => {
            tx.set(key, TypedValue.i64(i))
            tx.log('transfer', PAYLOAD)
          })
      }
      return txs
    },
    teardown: () => db.close(),
  }
}

/** A small write and an fdatasync of a plain file, one after the other: what one durable commit costs at least. */
function rawFdatasync(dir: string, txs: number): Measure {
  let fd = -1
  const record = Buffer.alloc(200, 1)
  let offset = 0
  return {
    setup: () => {
      fd = openSync(fresh(dir, 'fdatasync.log'), 'w')
    },
    run: () => {
      for (let k = 0; k < txs; k++) {
        writeSync(fd, record, 0, record.length, offset)
        offset += record.length
        fdatasyncSync(fd)
      }
      return txs
    },
    teardown: () => closeSync(fd),
  }
}

/**
 * Raw lmdb-js doing the same writes (a state key, an event) in one transaction per loop turn.
 * 'flushed': lmdb-js defaults (overlappingSync), each turn awaits `env.flushed`: durable, the
 * event loop free during the fsync. 'noMetaSync': an awaited `put` batch with LMDB's noMetaSync
 * (what Azoth's 'relaxed' is built on). 'noSync': lmdb-js `noSync`, no fsync at all (may corrupt
 * on power loss, so no Azoth mode uses it): the ceiling of an LMDB commit on this machine.
 */
function rawLmdb(dir: string, txs: number, mode: 'flushed' | 'noMetaSync' | 'noSync'): Measure {
  let env: RootDatabase<Bytes, Bytes>
  let state: Database<Bytes, Bytes>
  let events: Database<Bytes, Bytes>
  let seq = 0
  const idKey = Buffer.alloc(8)
  return {
    setup: () => {
      env = open<Bytes, Bytes>({
        path: fresh(dir, `raw-${mode}.mdb`),
        maxDbs: 4,
        keyEncoding: 'binary',
        encoding: 'binary',
        ...(mode === 'noMetaSync' ? { overlappingSync: false, noMetaSync: true } : {}),
        ...(mode === 'noSync' ? { noSync: true } : {}),
      })
      const named = { keyEncoding: 'binary', encoding: 'binary' } as const
      state = env.openDB({ name: 'state', ...named })
      events = env.openDB({ name: 'events', ...named })
    },
    run: async () => {
      for (let k = 0; k < txs; k++) {
        const i = seq++
        idKey.writeBigUInt64BE(BigInt(seq))
        if (mode === 'noMetaSync') {
          // Two puts of one event turn share one LMDB transaction (eventTurnBatching).
          state.put(Buffer.from(keyOf(i)), cborEncode(i))
          await events.put(idKey, cborEncode(PAYLOAD))
        } else {
          env.transactionSync(() => {
            state.putSync(Buffer.from(keyOf(i)), cborEncode(i))
            events.putSync(idKey, cborEncode(PAYLOAD))
          })
          if (mode === 'flushed') await env.flushed
        }
      }
      return txs
    },
    teardown: () => env.close(),
  }
}

function singleCallerCase(
  dir: string,
  txs: number,
  eventLog: EventLogKind,
  durability: Durability,
  raw: 'fdatasync' | 'flushed' | 'noMetaSync' | 'noSync',
): Case {
  const rawName = {
    fdatasync: 'write 200 B + fdatasync (plain file)',
    flushed: 'lmdb-js transactionSync(put state; put event) + await env.flushed',
    noMetaSync: 'lmdb-js await put(state), put(event) with noMetaSync',
    noSync: 'lmdb-js transactionSync(put state; put event) with noSync (unsafe on power loss)',
  }[raw]
  return {
    name: `one caller, ${durability}: Transaction API, 1 key + 1 event per tx (${eventLog} log) vs ${raw}`,
    unit: 'tx',
    params: { durability, eventLog, callers: 1, txPerRun: txs, raw: rawName },
    ours: ours(dir, txs, eventLog, durability),
    raw: raw === 'fdatasync' ? rawFdatasync(dir, txs) : rawLmdb(dir, txs, raw),
    // Issue 23: 'sync' at 0.35x a write + fdatasync loop; 'relaxed' at 15,000 tx/s.
    ...(raw === 'fdatasync' ? { target: { minRatio: 0.35 } } : {}),
    ...(durability === 'relaxed' ? { target: { minOpsPerSec: 15_000 } } : {}),
  }
}

const section: Section = {
  name: 'single-caller',
  description:
    'One caller awaiting each commit, sync and relaxed, both event logs, against fdatasync and raw lmdb-js',
  cases: ({ quick, tmpDir }) => {
    const txs = quick ? 300 : 1500
    return [
      ...(['lmdb', 'file'] as const).flatMap((log) => [
        singleCallerCase(tmpDir, txs, log, 'sync', 'fdatasync'),
        singleCallerCase(tmpDir, txs, log, 'sync', 'flushed'),
        singleCallerCase(tmpDir, txs, log, 'relaxed', 'noMetaSync'),
        singleCallerCase(tmpDir, txs, log, 'relaxed', 'noSync'),
      ]),
    ]
  },
}

export default section
