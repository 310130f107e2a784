import { join } from 'node:path'
import { decodeEvent, encodeEnvelope } from '@azothdb/core'
import { crc32c } from '@azothdb/core/internal'
import { type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'

const ev = (n: number) => ({ type: 'T', data: n })

/** A head's value: last version and id, the runs of its open block, and its checksum. */
function headBytes(name: string, version: bigint, id: number, ...block: [number, number][]): Buffer {
  const value = Buffer.alloc(16 + 12 * block.length + 4)
  value.writeBigUInt64BE(version, 0)
  value.writeBigUInt64BE(BigInt(id), 8)
  block.forEach(([runId, count], i) => {
    value.writeBigUInt64BE(BigInt(runId), 16 + 12 * i)
    value.writeUInt32BE(count, 24 + 12 * i)
  })
  const end = value.length - 4
  value.writeUInt32BE(crc32c(value, 0, end, crc32c(Buffer.from(name))), end)
  return value
}

/**
 * A store whose stream `s` holds one event at `version` (id 1). Versions are gapless from 0, so
 * no caller reaches 2^53 by appending: the event and the head are written as such a stream
 * would have them, in an external log (its envelopes are plain bytes) and in LMDB.
 */
async function storeWithStreamAt(version: bigint) {
  const dir = tempDir()
  const eventLog = new MemoryEventLog()
  const store = await openLmdbStore(dir, { eventLog })
  await store.commit((tx) => tx.appendToStream('s', [ev(0)]))
  await store.close()
  const header = decodeEvent(1, eventLog.records[0]!)
  eventLog.records[0] = encodeEnvelope({
    type: 'T',
    timestamp: header.timestamp,
    payload: 0,
    stream: { name: 's', version },
  })
  const env = open<Uint8Array, Uint8Array>({
    path: join(dir, 'data.mdb'),
    maxDbs: 8,
    keyEncoding: 'binary',
    encoding: 'binary',
  })
  const heads = env.openDB<Uint8Array, Uint8Array>({
    name: 'stream-heads',
    keyEncoding: 'binary',
    encoding: 'binary',
  })
  await heads.put(Buffer.from('s'), headBytes('s', version, 1, [1, 1]))
  await env.close()
  return { dir, eventLog }
}

/** What verify() finds beyond the crafted stream's start (it has no events below it, rightly reported). */
async function problemsAbove(store: LmdbStore) {
  const { problems } = await store.verify()
  return problems.filter(
    (p) => !/starts at version \d+, not 0|holds none of its earlier events/.test(String(p.detail)),
  )
}

describe('stream versions near and above 2^53', () => {
  const SAFE = BigInt(Number.MAX_SAFE_INTEGER) // 2^53 - 1

  for (const start of [SAFE - 2n, (1n << 64n) - 60n]) {
    it(`appends, heads, the index and envelopes agree from version ${start}`, async () => {
      const { dir, eventLog } = await storeWithStreamAt(start)
      let store = await openLmdbStore(dir, { eventLog })
      const versions: bigint[] = [start]
      const check = () => {
        // From `start`: below it the stream has no events (a read from 0 finds the gap).
        const read = [...store.readStream('s', { from: start })]
        expect(read.map((r) => r.version)).toEqual(versions)
        // The envelope names the version the index gives it, and the payload follows it.
        expect(read.map((r) => decodeEvent(r.id, r.bytes).stream?.version)).toEqual(versions)
        expect(read.map((r) => BigInt(decodeEvent(r.id, r.bytes).payload as number))).toEqual(
          versions.map((v) => v - start),
        )
        expect(
          [...store.readStream('s', { direction: 'backward', to: start })].map((r) => r.version),
        ).toEqual([...versions].reverse())
        expect(store.streamVersion('s')).toBe(versions.at(-1))
      }
      // One append of three crossing 2^53 (for the first start), checked against the head.
      const three = await store.commit((tx) => tx.appendToStream('s', [ev(1), ev(2), ev(3)], start))
      expect(three.result).toEqual({ nextExpectedStreamVersion: start + 3n, createdNewStream: false })
      versions.push(start + 1n, start + 2n, start + 3n)
      // Two members of one group: the second is checked against the first.
      const group = await Promise.allSettled([
        store.commit((tx) => tx.appendToStream('s', [ev(4)], start + 3n)),
        store.commit((tx) => tx.appendToStream('s', [ev(5)], start + 3n)),
        store.commit((tx) => tx.appendToStream('s', [ev(5)], start + 4n)),
      ])
      expect(group.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      expect((group[1] as PromiseRejectedResult).reason.details).toEqual({
        stream: 's',
        expected: start + 3n,
        actual: start + 4n,
      })
      versions.push(start + 4n, start + 5n)
      check()
      // 17 more runs (each after an event of no stream): the open block moves to an index entry
      // keyed by a version above 2^53.
      for (let i = 6; i < 23; i++) {
        await store.commit((tx) => tx.appendEvent('plain', null))
        await store.commit((tx) => tx.appendToStream('s', [ev(i)], start + BigInt(i - 1)))
        versions.push(start + BigInt(i))
      }
      check()
      expect(await problemsAbove(store)).toEqual([])
      await store.close()
      // Reopened, the heads come from LMDB rather than the writer's copies.
      store = await openLmdbStore(dir, { eventLog })
      check()
      const last = versions.at(-1)!
      await expect(store.commit((tx) => tx.appendToStream('s', [ev(0)], last - 1n))).rejects.toMatchObject({
        code: 'CONFLICT',
        details: { stream: 's', expected: last - 1n, actual: last },
      })
      await store.commit((tx) => tx.appendToStream('s', [ev(23)], last))
      versions.push(last + 1n)
      check()
      expect(
        [...store.readStream('s', { from: start + 20n, to: start + 22n })].map((r) => r.version),
      ).toEqual([start + 20n, start + 21n, start + 22n])
      expect(await problemsAbove(store)).toEqual([])
      await store.close()
    })
  }

  it('an append past the last u64 version is INVALID_ARGUMENT and writes nothing', async () => {
    const top = (1n << 64n) - 2n
    const { dir, eventLog } = await storeWithStreamAt(top)
    const store = await openLmdbStore(dir, { eventLog })
    // The last version there is: one more event fits, two do not.
    await expect(store.commit((tx) => tx.appendToStream('s', [ev(1), ev(2)], top))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await store.commit((tx) => tx.appendToStream('s', [ev(1)], top))
    await expect(store.commit((tx) => tx.appendToStream('s', [ev(2)]))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    expect([...store.readStream('s', { from: top })].map((r) => r.version)).toEqual([top, top + 1n])
    expect(store.head()).toBe(2)
    expect(await problemsAbove(store)).toEqual([])
    await store.close()
  })
})
