import { join } from 'node:path'
import { encodeEnvelope, encodeTypedValue, TypedValue } from '@azothdb/core'
import { eventIdBytes } from '@azothdb/core/internal'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import { type Database, open, type RootDatabase } from 'lmdb'
import type { Case, Measure, Section } from '../harness.js'

const sink = { value: undefined as unknown, count: 0 }

type Bytes = Uint8Array

/** A raw lmdb-js environment laid out like ours: binary keys and values, named databases. */
function openRaw(dir: string): {
  env: RootDatabase<Bytes, Bytes>
  state: Database<Bytes, Bytes>
  events: Database<Bytes, Bytes>
} {
  const env = open<Bytes, Bytes>({
    path: join(dir, 'raw.mdb'),
    maxDbs: 4,
    keyEncoding: 'binary',
    encoding: 'binary',
  })
  const opts = { keyEncoding: 'binary', encoding: 'binary' } as const
  return {
    env,
    state: env.openDB({ name: 'state', ...opts }),
    events: env.openDB({ name: 'events', ...opts }),
  }
}

/** N callers, each awaiting its own operations one after another: throughput = callers ÷ latency. */
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

function keyOf(i: number): string {
  return `acct:${String(i).padStart(8, '0')}`
}

const VALUE = encodeTypedValue(TypedValue.i64(123_456n))
const PAYLOAD = { from: 'acct:00000001', to: 'acct:00000002', amount: 100, memo: 'x'.repeat(40) }
const ENVELOPE = encodeEnvelope({ type: 'transfer', timestamp: 1_700_000_000_000, payload: PAYLOAD })

/**
 * What a raw caller awaits. `'commit'` is lmdb-js's `await env.transaction()` (the issue's
 * baseline); `'flushed'` also awaits `env.flushed`. With overlappingSync lmdb-js resolves a commit
 * only once `mdb_txn_commit` returned, which syncs first (measured with a probe: every put promise
 * resolved after its sync), so both carry the durability of our `'sync'`; `'flushed'` adds a turn.
 */
type RawAwait = 'commit' | 'flushed'

interface ConcurrentVariant {
  readonly durability: 'sync' | 'relaxed'
  readonly rawAwait: RawAwait
  readonly withEvent: boolean
  readonly target: boolean
}

const VARIANTS: readonly ConcurrentVariant[] = [
  { durability: 'sync', rawAwait: 'commit', withEvent: false, target: true },
  { durability: 'sync', rawAwait: 'flushed', withEvent: false, target: false },
  { durability: 'relaxed', rawAwait: 'commit', withEvent: false, target: false },
  { durability: 'sync', rawAwait: 'commit', withEvent: true, target: false },
]

function concurrentCases(dir: string, quick: boolean): Case[] {
  const cases: Case[] = []
  for (const callers of [1, 16, 64, 256]) {
    const perCaller = Math.max(4, Math.round((quick ? 400 : 2000) / Math.sqrt(callers)))
    const rawFloor = { 1: 1000, 16: 15000, 64: 50000, 256: 105000 }[callers] ?? 0
    for (const v of VARIANTS) {
      let store: LmdbStore
      let raw: ReturnType<typeof openRaw>
      let seq = 0
      const tag = `${v.withEvent ? 'event' : 'put'}-${v.durability}-${v.rawAwait}-${callers}`
      const ours: Measure = {
        setup: async () => {
          store = await openLmdbStore(join(dir, `ours-${tag}`), { durability: v.durability })
        },
        run: () =>
          drive(callers, perCaller, (i) =>
            store.commit((tx) => {
              tx.put(keyOf(i % 100_000), TypedValue.i64(i))
              if (v.withEvent) tx.appendEvent('transfer', PAYLOAD)
            }),
          ),
        teardown: () => store.close(),
      }
      const rawSide: Measure = {
        setup: () => {
          raw = openRaw(join(dir, `raw-${tag}`))
        },
        run: () =>
          drive(callers, perCaller, async (i) => {
            await raw.env.transaction(() => {
              raw.state.putSync(Buffer.from(keyOf(i % 100_000)), VALUE)
              if (v.withEvent) raw.events.putSync(Buffer.from(eventIdBytes(++seq)), ENVELOPE)
            })
            if (v.rawAwait === 'flushed') await raw.env.flushed
          }),
        teardown: () => raw.env.close(),
      }
      cases.push({
        name: `commit ${v.withEvent ? '1 put + 1 event' : '1 put'} per tx, ${callers} callers, ours ${v.durability} vs raw ${v.rawAwait === 'commit' ? 'await transaction()' : 'transaction() + flushed'}`,
        unit: 'tx',
        params: {
          durability: v.durability,
          rawAwaits: v.rawAwait,
          callers,
          txPerCaller: perCaller,
          eventBytes: v.withEvent ? ENVELOPE.length : 0,
          eventsPerTx: v.withEvent ? 1 : 0,
        },
        ours,
        raw: rawSide,
        ...(v.target ? { target: { minRatio: 0.8, minOpsPerSec: rawFloor * 0.8 } } : {}),
      })
    }
  }
  return cases
}

async function load(store: LmdbStore, raw: ReturnType<typeof openRaw>, keys: number): Promise<void> {
  for (let start = 0; start < keys; start += 10_000) {
    const end = Math.min(keys, start + 10_000)
    await store.commit((tx) => {
      for (let i = start; i < end; i++) tx.put(keyOf(i), TypedValue.i64(i))
    })
    await raw.env.transaction(() => {
      for (let i = start; i < end; i++)
        raw.state.putSync(Buffer.from(keyOf(i)), encodeTypedValue(TypedValue.i64(i)))
    })
  }
}

function readCases(dir: string, quick: boolean): Case[] {
  const keys = quick ? 100_000 : 1_000_000
  const reads = quick ? 200_000 : 1_000_000
  let store: LmdbStore
  let raw: ReturnType<typeof openRaw>
  let loaded = false
  const prepare = async () => {
    if (loaded) return
    store = await openLmdbStore(join(dir, 'reads'), { durability: 'relaxed' })
    raw = openRaw(join(dir, 'reads-raw'))
    await load(store, raw, keys)
    loaded = true
  }
  // Key strings are built before timing, so both sides time key encoding + lookup (+ our decode).
  const randomKeys = Array.from({ length: 100_000 }, (_, i) => keyOf((i * 2_654_435_761) % keys))
  const hotKeys = Array.from({ length: 100 }, (_, i) => keyOf(i * 7))
  const getCase = (name: string, pool: string[], target: Case['target']): Case => ({
    name,
    unit: 'reads',
    params: { keys, poolSize: pool.length, valueBytes: VALUE.length },
    ours: {
      setup: prepare,
      run: () => {
        let found = 0
        for (let i = 0; i < reads; i++) if (store.get(pool[i % pool.length]!) !== undefined) found++
        sink.count += found
        return reads
      },
    },
    raw: {
      setup: prepare,
      run: () => {
        let found = 0
        for (let i = 0; i < reads; i++)
          if (raw.state.getBinaryFast(Buffer.from(pool[i % pool.length]!)) !== undefined) found++
        sink.count += found
        return reads
      },
    },
    ...(target ? { target } : {}),
  })
  return [
    getCase(`get random key (${keys.toLocaleString('en')} keys)`, randomKeys, { minRatio: 0.8 }),
    {
      ...getCase('get from a hot set of 100 keys', hotKeys, { minOpsPerSec: 1_000_000 }),
      ours: {
        ...getCase('', hotKeys, undefined).ours,
        teardown: async () => {
          await store.close()
          await raw.env.close()
        },
      },
    },
  ]
}

/**
 * `events()` over the whole log: by default a scan this long reads and checks its chunks on the
 * read-ahead worker; the `checks inline` variant (`backgroundChecksums: false`) checks them on the
 * scanning thread.
 */
function iterationCase(dir: string, quick: boolean, backgroundChecksums: boolean): Case {
  const total = quick ? 200_000 : 1_000_000
  const perCommit = 1000
  let store: LmdbStore
  let raw: ReturnType<typeof openRaw>
  const variant = backgroundChecksums ? '' : ', ours checks inline'
  return {
    name: `iterate ${total.toLocaleString('en')} stored events${variant}`,
    unit: 'events',
    params: {
      events: total,
      eventBytes: ENVELOPE.length,
      eventsPerCommit: perCommit,
      layout: 'ours: chunked; raw: one entry per event',
      checksums: backgroundChecksums ? 'read-ahead worker (when a core is free)' : 'inline',
    },
    ours: {
      setup: async () => {
        store = await openLmdbStore(join(dir, backgroundChecksums ? 'events' : 'events-inline'), {
          durability: 'relaxed',
          backgroundChecksums,
        })
        for (let n = 0; n < total; n += perCommit) {
          await store.commit((tx) => {
            for (let i = 0; i < perCommit; i++) tx.appendEvent('transfer', PAYLOAD)
          })
        }
      },
      run: () => {
        let bytes = 0
        let count = 0
        for (const r of store.events()) {
          bytes += r.bytes.length
          count++
        }
        sink.count += bytes
        return count
      },
      teardown: () => store.close(),
    },
    raw: {
      setup: async () => {
        raw = openRaw(join(dir, backgroundChecksums ? 'events-raw' : 'events-raw-inline'))
        for (let n = 0; n < total; n += perCommit) {
          await raw.env.transaction(() => {
            for (let i = 1; i <= perCommit; i++)
              raw.events.putSync(Buffer.from(eventIdBytes(n + i)), ENVELOPE)
          })
        }
      },
      run: () => {
        let bytes = 0
        let count = 0
        for (const { value } of raw.events.getRange({})) {
          bytes += value.length
          count++
        }
        sink.count += bytes
        return count
      },
      teardown: () => raw.env.close(),
    },
    target: { minOpsPerSec: 1_200_000 },
  }
}

const section: Section = {
  name: 'store-lmdb',
  description: 'The canonical LMDB store against raw lmdb-js: group commit, reads, event iteration',
  cases: ({ quick, tmpDir }) => [
    ...concurrentCases(tmpDir, quick),
    ...readCases(tmpDir, quick),
    iterationCase(tmpDir, quick, true),
    iterationCase(tmpDir, quick, false),
  ],
}

export default section
