import { join } from 'node:path'
import { encodeCbor } from '@azothdb/core/internal'
import { Azoth } from 'azothdb'
import { Decoder } from 'cbor-x'
import type { Case, Section } from '../harness.js'

const sink = { count: 0 }

/** The payload of event `i`: the shape the other sections commit, its amount varying. */
function payloadOf(i: number) {
  return { from: 'acct:00000001', to: 'acct:00000002', amount: i, memo: 'x'.repeat(40) }
}

const STREAMS = 1_000
const PER_APPEND = 1_000

/**
 * `db.events()` over a log of stream events, read two ways: ids, types and streams only (the
 * payload never read), and with every payload read. The raw side of the second decodes the same
 * payload bytes with cbor-x (configured as ours), from arrays made once before timing: it pays
 * neither the log's iteration nor the envelope, and after the first run cbor-x finds its DataView
 * already cached on each array, so it is the generous baseline.
 */
function readCases(dir: string, quick: boolean): Case[] {
  const total = quick ? 200_000 : 1_000_000
  const pool = quick ? 20_000 : 100_000
  let db: Azoth | undefined
  const prepare = async (): Promise<void> => {
    if (db !== undefined) return
    const opened = await Azoth.open(join(dir, 'reads'), { durability: 'relaxed' })
    for (let n = 0; n < total; n += PER_APPEND) {
      const events = Array.from({ length: PER_APPEND }, (_, k) => ({
        type: 'transfer',
        data: payloadOf(n + k),
      }))
      await opened.appendToStream(`acct-${(n / PER_APPEND) % STREAMS}`, events)
    }
    db = opened
  }
  const close = async (): Promise<void> => {
    await db?.close()
    db = undefined
  }
  const payloads = Array.from({ length: pool }, (_, i) => encodeCbor(payloadOf(i)))
  const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })
  const params = {
    events: total,
    payloadBytes: payloads[0]!.length,
    eventLog: 'lmdb',
    streams: STREAMS,
  }
  return [
    {
      name: `db.events() over ${total.toLocaleString('en')} events, payload not read`,
      unit: 'events',
      params: { ...params, reads: 'id, type, stream name' },
      ours: {
        setup: prepare,
        run: () => {
          let n = 0
          for (const e of db!.events()) n += e.id + e.type.length + (e.stream?.name.length ?? 0)
          sink.count += n
          return total
        },
      },
      target: { minOpsPerSec: 3_000_000 },
    },
    {
      name: `db.events() over ${total.toLocaleString('en')} events, every payload read, vs cbor-x decode of the payloads`,
      unit: 'events',
      params: { ...params, reads: 'id, type, payload.amount', rawPool: pool },
      ours: {
        setup: prepare,
        run: () => {
          let n = 0
          for (const e of db!.events()) {
            n += e.id + e.type.length + (e.payload as { amount: number }).amount
          }
          sink.count += n
          return total
        },
        teardown: close,
      },
      raw: {
        run: () => {
          let n = 0
          for (let i = 0; i < total; i++) {
            n += i + (decoder.decode(payloads[i % pool]!) as { amount: number }).amount
          }
          sink.count += n
          return total
        },
      },
      target: { minRatio: 0.8 },
    },
  ]
}

const section: Section = {
  name: 'reads',
  description: 'Decoded reads: db.events() with and without reading payloads, against cbor-x decoding them',
  cases: ({ quick, tmpDir }) => readCases(tmpDir, quick),
}

export default section
