import { isUtf8 } from 'node:buffer'
import { type Key, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tempDir } from './support/temp-dir.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const keyBytes = (key: Key): Uint8Array => (typeof key === 'string' ? Buffer.from(key, 'utf8') : key)

// Bytes that are often not UTF-8: lone continuation bytes, truncated sequences, 0xff, a BOM.
const byte = fc.oneof(
  fc.integer({ min: 0x61, max: 0x63 }),
  fc.constantFrom(0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xef, 0xbb, 0xff, 0xfe, 0xf0, 0x9f),
)
// Keys under the prefix 'p' (0x70); the model maps each key's bytes to its value.
const model = fc.uniqueArray(
  fc.array(byte, { minLength: 0, maxLength: 6 }).map((tail) => Uint8Array.from([0x70, ...tail])),
  { minLength: 1, maxLength: 40, selector: hex },
)

describe('scan with a string prefix over byte keys', () => {
  it('returns every key exactly once, as a string only when it is valid UTF-8, and get finds each', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir, { durability: 'relaxed' })
    try {
      await fc.assert(
        fc.asyncProperty(model, async (keys) => {
          await store.commit((tx) => {
            for (const { key } of store.scan('')) tx.delete(key)
            keys.forEach((k, i) => {
              tx.put(k, TypedValue.i64(BigInt(i)))
            })
          })
          const expected = new Map(keys.map((k, i) => [hex(k), BigInt(i)]))
          for (const prefix of ['p', '']) {
            const seen = new Map<string, bigint>()
            for (const { key, value } of store.scan(prefix)) {
              const bytes = keyBytes(key)
              // A string key is exactly the stored bytes; bytes come back only when they are not UTF-8.
              if (typeof key !== 'string') expect(isUtf8(bytes)).toBe(false)
              expect(seen.has(hex(bytes))).toBe(false)
              seen.set(hex(bytes), value.asI64())
              expect(store.get(key)?.asI64()).toBe(value.asI64())
            }
            expect(seen).toEqual(expected)
          }
        }),
        { numRuns: 60 },
      )
    } finally {
      await store.close()
    }
  }, 60_000)
})
