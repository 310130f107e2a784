import { type Key, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { codeOf } from './support/code-of.js'
import { tempDir } from './support/temp-dir.js'

// Reads encode string keys into a reused buffer: lookups of keys of every length, ASCII or not,
// one after another (and through a snapshot) must find exactly what was written under them.
describe('key lookups', () => {
  it('find what was written, for ASCII, non-ASCII and byte keys of many lengths, in any order', async () => {
    const store = await openLmdbStore(tempDir(), { limits: { maxKeyBytes: 64 } })
    const key = fc.oneof(
      fc.string({ unit: fc.constantFrom('a', 'b', 'Z', '0', '/', '~'), minLength: 1, maxLength: 64 }),
      // Within the 64-byte limit set above: a grapheme can take many bytes.
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter((k) => Buffer.byteLength(k) <= 64),
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { maxLength: 30, selector: keyText }),
        fc.array(key),
        async (written, probes) => {
          const model = new Map<string, bigint>()
          await store.commit((tx) => {
            written.forEach((k, i) => {
              tx.put(k, TypedValue.i64(BigInt(i)))
              model.set(keyText(k), BigInt(i))
            })
          })
          using snap = store.snapshot()
          for (const k of [...probes, ...written].reverse()) {
            const expected = model.get(keyText(k))
            expect(store.get(k)?.asI64()).toBe(expected)
            expect(store.exists(k)).toBe(expected !== undefined)
            expect(store.getBytes(k) !== undefined).toBe(expected !== undefined)
            expect(snap.get(k)?.asI64()).toBe(expected)
          }
          await store.commit((tx) => {
            for (const k of written) tx.delete(k)
          })
        },
      ),
      { numRuns: 60 },
    )
    await store.close()
  }, 60_000) // 120 synced commits: well under a second here, more on a slow or busy disk

  it('refuse bad keys with the same codes as writes', async () => {
    const store = await openLmdbStore(tempDir(), { limits: { maxKeyBytes: 16 } })
    const bad: [Key, string][] = [
      ['', 'INVALID_ARGUMENT'],
      ['x'.repeat(17), 'KEY_TOO_LARGE'],
      ['é'.repeat(9), 'KEY_TOO_LARGE'], // 9 chars, 18 bytes
      ['\uD800', 'INVALID_ARGUMENT'],
      [new Uint8Array(0), 'INVALID_ARGUMENT'],
    ]
    for (const [k, code] of bad) {
      expect(await codeOf(() => store.get(k))).toBe(code)
      expect(await codeOf(() => store.exists(k))).toBe(code)
      await expect(store.commit((tx) => tx.put(k, TypedValue.i64(1n)))).rejects.toMatchObject({ code })
    }
    expect(await codeOf(() => store.get('x'.repeat(16)))).toBe('no error')
    await store.close()
  })
})

/** A key's identity: a string key and its UTF-8 bytes are the same key. */
function keyText(k: Key): string {
  return Buffer.from(k).toString('hex')
}
