import { join } from 'node:path'
import { Azoth } from 'azothdb'
import { decode as cborDecode, encode as cborEncode } from 'cbor-x'
import { type Database, open, type RootDatabase } from 'lmdb'
import type { Case, Measure, Section } from '../harness.js'

type Bytes = Uint8Array

const EVENT = { type: 'ItemAdded', data: { sku: 'sku-00000001', qty: 1, price: 1299, memo: 'x'.repeat(32) } }

/** N callers, each awaiting its own operations one after another; returns how many were done. */
async function drive(callers: number, perCaller: number, op: (caller: number) => Promise<unknown>) {
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let k = 0; k < perCaller; k++) await op(caller)
    }),
  )
  return callers * perCaller
}

/**
 * A stream append (one event, its expected version checked in the writer) against a plain
 * `tx.log` of the same event, both in one database, at the same concurrency: what the stream
 * index and the version check cost a commit.
 */
function appendCase(dir: string, quick: boolean, callers: number): Case {
  const perCaller = Math.max(4, Math.round((quick ? 300 : 1500) / Math.sqrt(callers)))
  let db: Azoth
  // Each caller appends to a stream of its own and knows its version, as a command handler would.
  const versions: (bigint | 'no_stream')[] = []
  let round = 0
  const ours: Measure = {
    setup: async () => {
      db = await Azoth.open(join(dir, `append-${callers}`), { durability: 'sync' })
    },
    run: () => {
      round++
      versions.length = 0
      for (let c = 0; c < callers; c++) versions.push('no_stream')
      return drive(callers, perCaller, async (caller) => {
        const r = await db.appendToStream(`cart-${round}.${caller}`, [EVENT], {
          expectedStreamVersion: versions[caller]!,
        })
        versions[caller] = r.nextExpectedStreamVersion
      })
    },
    teardown: () => db.close(),
  }
  const raw: Measure = {
    run: () =>
      drive(callers, perCaller, () => db.transaction().execute((tx) => tx.log(EVENT.type, EVENT.data))),
  }
  return {
    name: `Stream append (1 event, expected version) vs tx.log of the same event, ${callers} awaiting callers`,
    unit: 'appends',
    params: {
      durability: 'sync',
      eventLog: 'lmdb',
      callers,
      perCaller,
      raw: 'db.transaction().execute(tx.log)',
    },
    ours,
    raw,
    target: { minRatio: 0.9 },
  }
}

/**
 * readStream of one stream's 1,000 events out of a log of `total` stream events (`total / 1,000`
 * streams written round-robin, so the stream's events lie all over the log), against raw lmdb-js holding
 * the same events keyed by (stream, version) and read by one range: the layout a store for this
 * one query would choose.
 */
function readCase(dir: string, total: number): Case {
  const perStream = 1_000
  const streams = total / perStream
  const batch = 10 // events per stream per transaction
  const target = `cart-${streams / 2}`
  const reads = 20
  let db: Azoth
  let env: RootDatabase<Bytes, Bytes>
  let byStream: Database<Bytes, Bytes>
  // Every event has qty 1: a run that read the wrong events (or too few) reports no work.
  const checked = (sum: number) => (sum === reads * perStream ? sum : 0)
  const streamKey = (stream: string, version: number) => {
    const name = Buffer.from(stream)
    const key = Buffer.alloc(name.length + 9)
    name.copy(key)
    key.writeBigUInt64BE(BigInt(version), name.length + 1)
    return key
  }
  const ours: Measure = {
    setup: async () => {
      db = await Azoth.open(join(dir, 'read-ours'), { durability: 'relaxed' })
      const names = Array.from({ length: streams }, (_, s) => `cart-${s}`)
      for (let round = 0; round < perStream / batch; round++) {
        await db
          .transaction()
          .streams(names)
          .execute((tx) => {
            for (const name of names) {
              tx.appendToStream(
                name,
                Array.from({ length: batch }, () => EVENT),
              )
            }
          })
      }
    },
    run: async () => {
      let sum = 0
      for (let r = 0; r < reads; r++) {
        const { events } = await db.readStream(target)
        for (const e of events) sum += (e.payload as typeof EVENT.data).qty
      }
      return checked(sum)
    },
    teardown: () => db.close(),
  }
  const raw: Measure = {
    setup: async () => {
      env = open<Bytes, Bytes>({
        path: join(dir, 'read-raw.mdb'),
        maxDbs: 2,
        keyEncoding: 'binary',
        encoding: 'binary',
      })
      byStream = env.openDB({ name: 'streams', keyEncoding: 'binary', encoding: 'binary' })
      const payload = cborEncode(EVENT.data)
      for (let round = 0; round < perStream / batch; round++) {
        await env.transaction(() => {
          for (let s = 0; s < streams; s++) {
            for (let b = 0; b < batch; b++)
              byStream.putSync(streamKey(`cart-${s}`, round * batch + b), payload)
          }
        })
      }
    },
    run: () => {
      const start = streamKey(target, 0)
      const end = streamKey(target, perStream)
      let sum = 0
      for (let r = 0; r < reads; r++) {
        for (const { value } of byStream.getRange({ start, end }))
          sum += (cborDecode(value) as typeof EVENT.data).qty
      }
      return checked(sum)
    },
    teardown: () => env.close(),
  }
  return {
    name: `readStream of ${perStream} events out of a ${total.toLocaleString('en')}-event log vs raw lmdb-js range`,
    unit: 'events',
    params: {
      total,
      streams,
      perStream,
      payload: 'decoded on both sides',
      raw: 'getRange over (stream, version) keys',
    },
    ours,
    raw,
    target: { minRatio: 0.5 },
  }
}

/**
 * What the substrate allows: lmdb-js group commits holding `streams` events (one chunk entry, as
 * the event log writes them) with a head entry per stream, as stream appends to distinct streams
 * must write, against the same groups without heads, as `tx.log` writes them. Both sides are raw
 * lmdb-js (overlapping sync, each group committed and flushed before the next): the ratio is the
 * ceiling of stream appends against `tx.log` at that many callers, before any Azoth code runs.
 *
 * The heads are written as the stream index writes them when each stream gets one event per group
 * (its events' ids interleave with the other streams', so each append is a run of its own): a
 * value of 20 bytes plus 12 per run of the open block, growing by a run per group, and every 17th
 * group the block moving to an index entry of 16 runs keyed by stream and version. Each run writes
 * streams of its own, as the append case does. A head rewritten at a fixed size on the same keys
 * is overwritten in place by LMDB, and costs it far less than these do.
 */
function headsCeilingCase(dir: string, quick: boolean, streams: number): Case {
  const groups = quick ? 100 : 400
  const chunk = Buffer.alloc(streams * 150, 7)
  const entry = Buffer.alloc(16 * 12, 3)
  let env: RootDatabase<Bytes, Bytes>
  let events: Database<Bytes, Bytes>
  let heads: Database<Bytes, Bytes>
  let index: Database<Bytes, Bytes>
  let seq = 0
  let round = 0
  const run = async (withHeads: boolean) => {
    round++
    const names = Array.from({ length: streams }, (_, s) => Buffer.from(`cart-${round}.${s}`))
    for (let g = 0; g < groups; g++) {
      const key = Buffer.alloc(8)
      key.writeBigUInt64BE(BigInt(++seq))
      const writes = [events.put(key, chunk)]
      if (withHeads) {
        // Runs in the open block after this group's append: 1..16, then 0 once it moves to an entry.
        const runs = (g % 17) + 1
        const moves = runs === 17
        const head = Buffer.alloc(20 + 12 * (moves ? 0 : runs), 3)
        for (const name of names) {
          writes.push(heads.put(name, head))
          if (moves) {
            const entryKey = Buffer.alloc(1 + name.length + 8)
            entryKey[0] = name.length
            name.copy(entryKey, 1)
            entryKey.writeBigUInt64BE(BigInt(g - 16), 1 + name.length)
            writes.push(index.put(entryKey, entry))
          }
        }
      }
      await Promise.all(writes)
      await env.flushed
    }
    return groups * streams
  }
  return {
    name: `Ceiling: lmdb-js groups of ${streams} events with a head per stream vs without`,
    unit: 'events',
    params: {
      streams,
      groups,
      ours: `lmdb-js: 1 events entry + ${streams} head entries (growing open blocks, an index entry per 17) per group`,
      raw: 'lmdb-js: 1 events entry per group',
      sync: 'overlappingSync, flushed per group',
    },
    ours: {
      setup: () => {
        env = open<Bytes, Bytes>({
          path: join(dir, `ceiling-${streams}.mdb`),
          maxDbs: 3,
          overlappingSync: true,
          keyEncoding: 'binary',
          encoding: 'binary',
        })
        events = env.openDB({ name: 'events', keyEncoding: 'binary', encoding: 'binary' })
        heads = env.openDB({ name: 'heads', keyEncoding: 'binary', encoding: 'binary' })
        index = env.openDB({ name: 'index', keyEncoding: 'binary', encoding: 'binary' })
      },
      run: () => run(true),
      teardown: () => env.close(),
    },
    raw: { run: () => run(false) },
  }
}

const section: Section = {
  name: 'streams',
  description: 'Stream appends against tx.log, and stream reads against raw lmdb-js ranges',
  cases: ({ quick, tmpDir }) => [
    ...[1, 64, 256].map((callers) => appendCase(tmpDir, quick, callers)),
    ...[64, 256].map((streams) => headsCeilingCase(tmpDir, quick, streams)),
    readCase(tmpDir, quick ? 200_000 : 1_000_000),
  ],
}

export default section
