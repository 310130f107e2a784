import { join } from 'node:path'
import { encodeEnvelope } from '@azothdb/core'
import { Azoth, TypedValue } from 'azothdb'
import { encode as cborEncode } from 'cbor-x'
import { type Database, open, type RootDatabase } from 'lmdb'
import type { Case, Measure, Section } from '../harness.js'
import { percentile } from '../stats.js'

type Bytes = Uint8Array

const PAYLOAD = { from: 'acct:00000001', to: 'acct:00000002', amount: 100, memo: 'x'.repeat(40) }

/** Per-call latencies of the timed runs, summarised as percentiles. */
class Latencies {
  private samples: number[] = []
  reset(): void {
    this.samples = []
  }
  add(ms: number): void {
    this.samples.push(ms)
  }
  report(): Record<string, string> {
    const s = this.samples.sort((a, b) => a - b)
    return { p50: `${percentile(s, 0.5).toFixed(2)}ms`, p99: `${percentile(s, 0.99).toFixed(2)}ms` }
  }
}

/** N callers, each awaiting its own transactions one after another. */
async function drive(
  callers: number,
  perCaller: number,
  latencies: Latencies,
  op: (i: number) => Promise<unknown>,
) {
  let next = 0
  latencies.reset()
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let k = 0; k < perCaller; k++) {
        const t = performance.now()
        await op(next++)
        latencies.add(performance.now() - t)
      }
    }),
  )
  return callers * perCaller
}

// What one event weighs in the log: the envelope of PAYLOAD (type, timestamp, CBOR payload).
const EVENT_BYTES = encodeEnvelope({ type: 'transfer', timestamp: Date.now(), payload: PAYLOAD }).length

const keyOf = (i: number) => `acct:${String(i % 100_000).padStart(8, '0')}`

function transactionCase(dir: string, quick: boolean, callers: number, eventLog: 'lmdb' | 'file'): Case {
  const perCaller = Math.max(4, Math.round((quick ? 400 : 2000) / Math.sqrt(callers)))
  const tag = `${eventLog}-${callers}`
  let db: Azoth
  let env: RootDatabase<Bytes, Bytes>
  let state: Database<Bytes, Bytes>
  let events: Database<Bytes, Bytes>
  let seq = 0
  const oursLatency = new Latencies()
  const rawLatency = new Latencies()
  const idKey = Buffer.alloc(8)
  const ours: Measure = {
    setup: async () => {
      db = await Azoth.open(join(dir, `ours-${tag}`), { eventLog, durability: 'sync' })
    },
    run: () =>
      drive(callers, perCaller, oursLatency, (i) => {
        const key = keyOf(i)
        return db
          .transaction()
          .keys([key])
          .execute((tx) => {
            tx.set(key, TypedValue.i64(i))
            tx.log('transfer', PAYLOAD)
          })
      }),
    report: () => oursLatency.report(),
    teardown: () => db.close(),
  }
  const raw: Measure = {
    setup: () => {
      env = open<Bytes, Bytes>({
        path: join(dir, `raw-${tag}.mdb`),
        maxDbs: 4,
        keyEncoding: 'binary',
        encoding: 'binary',
      })
      const named = { keyEncoding: 'binary', encoding: 'binary' } as const
      state = env.openDB({ name: 'state', ...named })
      events = env.openDB({ name: 'events', ...named })
    },
    run: () =>
      drive(callers, perCaller, rawLatency, (i) =>
        env.transaction(() => {
          state.putSync(Buffer.from(keyOf(i)), cborEncode(i))
          idKey.writeBigUInt64BE(BigInt(++seq))
          events.putSync(idKey, cborEncode(PAYLOAD))
        }),
      ),
    report: () => rawLatency.report(),
    teardown: () => env.close(),
  }
  const rawFloor = { 1: 1000, 4: 4000, 16: 15000, 64: 50000, 256: 105000 }[callers] ?? 0
  return {
    name: `Transaction API: 1 key + 1 event per tx, ${callers} awaiting callers (${eventLog} log)`,
    unit: 'tx',
    params: {
      durability: 'sync',
      eventLog,
      callers,
      eventBytes: EVENT_BYTES,
      eventsPerTx: 1,
      txPerCaller: perCaller,
      raw: 'env.transaction(put state; put event)',
    },
    ours,
    raw,
    target: {
      minRatio: 0.7,
      ...(callers === 256 ? { minOpsPerSec: 88_490 } : { minOpsPerSec: rawFloor * 0.7 }),
    },
  }
}

/**
 * Stream appends with an idempotency key against the same appends without one, in the same run:
 * what the key costs (a lookup in the writer, a record and an order entry in the same commit).
 * Here "raw" is Azoth itself without keys.
 */
function idempotentAppendCase(dir: string, quick: boolean, callers: number): Case {
  const perCaller = Math.max(4, Math.round((quick ? 400 : 2000) / Math.sqrt(callers)))
  const side = (keyed: boolean): Measure => {
    let db: Azoth
    let request = 0
    const latencies = new Latencies()
    const event = [{ type: 'transfer', data: PAYLOAD }]
    return {
      setup: async () => {
        db = await Azoth.open(join(dir, `append-${keyed ? 'keyed' : 'plain'}-${callers}`), {
          durability: 'sync',
        })
      },
      run: () =>
        drive(callers, perCaller, latencies, (i) =>
          db.appendToStream(
            `acct-${i % 1000}`,
            event,
            keyed ? { idempotencyKey: `req-${String(++request).padStart(12, '0')}` } : undefined,
          ),
        ),
      report: () => latencies.report(),
      teardown: () => db.close(),
    }
  }
  return {
    name: `appendToStream with an idempotency key vs without, ${callers} awaiting callers (lmdb log)`,
    unit: 'appends',
    params: {
      durability: 'sync',
      callers,
      eventBytes: EVENT_BYTES,
      appendsPerCaller: perCaller,
      streams: 1000,
      raw: 'the same appends without idempotencyKey',
    },
    ours: side(true),
    raw: side(false),
  }
}

const section: Section = {
  name: 'azoth',
  description: 'The facade: Transaction API commits against raw lmdb-js doing the same writes',
  cases: ({ quick, tmpDir }) => [
    ...[1, 4, 16, 64, 256].map((callers) => transactionCase(tmpDir, quick, callers, 'lmdb')),
    ...[1, 256].map((callers) => transactionCase(tmpDir, quick, callers, 'file')),
    ...[1, 64, 256].map((callers) => idempotentAppendCase(tmpDir, quick, callers)),
  ],
}

export default section
