import { encodeEnvelope } from '@azothdb/core'
import { type SqlEventHandler, TypedValue } from 'azothdb'
import Database from 'better-sqlite3'
import { decode as cborDecode, encode as cborEncode } from 'cbor-x'
import type { Case } from '../harness.js'
import { type Deposit, depositOf, EVENT_TYPE, keyOf, sizeLabel, spreadIndex } from './scale-data.js'
import { eventIdKey, type ScaleFixture, TABLE } from './scale-fixture.js'
import type { SizeTrend } from './size-trend.js'

/** The metrics of the scale section, as `params.metric` names them. */
export type ScaleMetric =
  | 'commit'
  | 'get'
  | 'iterate'
  | 'catchup'
  | 'open-clean'
  | 'open-sigkill'
  | 'disk-bytes'

export const CALLERS = 64
const CATCHUP_BATCH = 1_000
const UPSERT =
  'INSERT INTO balances (account, amount) VALUES (?, ?) ' +
  'ON CONFLICT (account) DO UPDATE SET amount = amount + excluded.amount'
/** What bounds the memory of either side: nothing in Azoth keeps per-key or per-event state. */
const RSS_BOUND = 'LMDB mmap (page cache); projector batch 1,000; no per-key cache'

const sink = { value: 0 }

/** What every case at size `n` is built from. */
export interface ScaleSize {
  readonly fixture: ScaleFixture
  readonly n: number
  /** The size measured before this one, for the 25% trend check. */
  readonly previous: number | undefined
  readonly quick: boolean
  readonly trend: SizeTrend
}

export function params(s: ScaleSize, metric: ScaleMetric, extra: Record<string, string | number> = {}) {
  return { events: s.n, keys: s.n, metric, eventLog: 'lmdb', rssBound: RSS_BOUND, ...extra }
}

/** N callers, each awaiting its own operations one after another; resolves with how many ran. */
async function drive(
  callers: number,
  perCaller: number,
  op: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let k = 0; k < perCaller; k++) await op(next++)
    }),
  )
  return callers * perCaller
}

function tracked(s: ScaleSize, metric: ScaleMetric, c: Case): Case {
  const { ours, raw } = c
  return {
    ...c,
    ours: s.trend.track(ours, `${metric}:ours`, s.n, s.previous),
    ...(raw === undefined ? {} : { raw: s.trend.track(raw, `${metric}:raw`, s.n, s.previous) }),
  }
}

export function commitCase(s: ScaleSize): Case {
  const { fixture: f, n } = s
  const perCaller = s.quick ? 40 : 200
  let seq = 0
  return tracked(s, 'commit', {
    name: `commit: 1 key + 1 event per tx, ${CALLERS} callers, on ${sizeLabel(n)} keys and events`,
    unit: 'tx',
    params: params(s, 'commit', { durability: 'sync', callers: CALLERS, txPerRun: CALLERS * perCaller }),
    ours: {
      setup: async () => void (await f.db()),
      run: async () => {
        const db = await f.db()
        return drive(CALLERS, perCaller, () => {
          const i = seq++
          const key = keyOf(spreadIndex(i, n))
          return db
            .transaction()
            .keys([key])
            .execute((tx) => {
              tx.set(key, TypedValue.i64(i))
              tx.log(EVENT_TYPE, depositOf(i))
            })
        })
      },
    },
    raw: {
      setup: async () => void (await f.raw()),
      run: async () => {
        const { env, state, events } = await f.raw()
        return drive(CALLERS, perCaller, () => {
          const i = seq++
          return env.transaction(() => {
            state.putSync(Buffer.from(keyOf(spreadIndex(i, n))), cborEncode(i))
            events.putSync(
              eventIdKey(f.rawNextId++),
              encodeEnvelope({ type: EVENT_TYPE, timestamp: Date.now(), payload: depositOf(i) }),
            )
          })
        })
      },
    },
    showsMemory: true,
  })
}

export function getCase(s: ScaleSize): Case {
  const { fixture: f, n } = s
  const reads = s.quick ? 100_000 : 400_000
  return tracked(s, 'get', {
    name: `get: random key of ${sizeLabel(n)}`,
    unit: 'ops',
    params: params(s, 'get', { readsPerRun: reads, raw: 'getBinary + cbor-x decode' }),
    ours: {
      setup: async () => void (await f.db()),
      run: async () => {
        const db = await f.db()
        let sum = 0
        for (let i = 0; i < reads; i++) sum += Number(db.get(keyOf(spreadIndex(i, n))).asI64())
        sink.value += sum
        return reads
      },
    },
    raw: {
      setup: async () => void (await f.raw()),
      run: async () => {
        const { state } = await f.raw()
        let sum = 0
        for (let i = 0; i < reads; i++)
          sum += cborDecode(state.get(Buffer.from(keyOf(spreadIndex(i, n))))!) as number
        sink.value += sum
        return reads
      },
    },
    showsMemory: true,
  })
}

export function iterateCase(s: ScaleSize): Case {
  const { fixture: f, n } = s
  return tracked(s, 'iterate', {
    name: `iterate: db.events() over ${sizeLabel(n)} events, payload not read`,
    unit: 'events',
    params: params(s, 'iterate', { reads: 'id, type', raw: 'getRange over the events database' }),
    ours: {
      setup: async () => void (await f.db()),
      run: async () => {
        let count = 0
        let sum = 0
        for (const e of (await f.db()).events()) {
          sum += e.id + e.type.length
          count++
        }
        sink.value += sum
        return count
      },
    },
    raw: {
      setup: async () => void (await f.raw()),
      run: async () => {
        let count = 0
        let sum = 0
        for (const { value } of (await f.raw()).events.getRange()) {
          sum += value.length
          count++
        }
        sink.value += sum
        return count
      },
    },
    showsMemory: true,
    ...(n >= 10_000_000 ? { maxRuns: { runs: 3, warmup: 1 } } : {}),
  })
}

const balances: SqlEventHandler = {
  eventTypes: [EVENT_TYPE],
  handle(event, tx) {
    const p = event.payload as Deposit
    tx.run(UPSERT, [p.account, p.amount])
  },
}

export function catchupCase(s: ScaleSize): Case {
  const { fixture: f, n } = s
  let projectors = 0
  let raw: Database.Database | undefined
  let upsertChunk: ((from: number, to: number) => void) | undefined
  return tracked(s, 'catchup', {
    name: `catchup: a new SQLite projector over ${sizeLabel(n)} events`,
    unit: 'events',
    params: params(s, 'catchup', {
      batch: CATCHUP_BATCH,
      synchronous: 'NORMAL',
      raw: 'better-sqlite3 upserts, rows built on the fly, 1,000 per transaction',
    }),
    ours: {
      setup: async () => void (await f.db()),
      run: async () => {
        // A new name each run: cursor 0, so every run catches up the whole log.
        const p = (await f.db()).projector({
          name: `catchup-${projectors++}`,
          handlers: [balances],
          batch: { maxEvents: CATCHUP_BATCH },
        })
        let total = 0
        for (let done = await p.runOnce(); done.events > 0; done = await p.runOnce()) total += done.events
        return total
      },
    },
    raw: {
      setup: () => {
        raw = new Database(f.rawSqlitePath)
        raw.pragma('journal_mode = WAL')
        raw.pragma('synchronous = NORMAL')
        raw.exec(TABLE)
        const stmt = raw.prepare(UPSERT)
        upsertChunk = raw.transaction((from: number, to: number) => {
          for (let i = from; i < to; i++) {
            const d = depositOf(i)
            stmt.run(d.account, d.amount)
          }
        })
      },
      run: () => {
        for (let from = 0; from < n; from += CATCHUP_BATCH)
          upsertChunk!(from, Math.min(n, from + CATCHUP_BATCH))
        return n
      },
      teardown: () => void raw?.close(),
    },
    showsMemory: true,
    ...(n >= 10_000_000
      ? { maxRuns: { runs: 1, warmup: 0 } }
      : n >= 1_000_000
        ? { maxRuns: { runs: 3, warmup: 1 } }
        : {}),
  })
}
