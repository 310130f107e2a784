import { TypedValue, type WriteContext } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { codeOf } from './support/code-of.js'
import { tempDir } from './support/temp-dir.js'

/** Every method of a write context, each called as a kept context would be. */
const CALLS: Record<string, (tx: WriteContext) => unknown> = {
  get: (tx) => tx.get('a'),
  getBytes: (tx) => tx.getBytes('a'),
  exists: (tx) => tx.exists('a'),
  put: (tx) => tx.put('a', TypedValue.i64(99n)),
  delete: (tx) => tx.delete('a'),
  appendEvent: (tx) => tx.appendEvent('leaked', null),
  appendRawEvent: (tx) => tx.appendRawEvent('leaked', new Uint8Array([1])),
  appendToStream: (tx) => tx.appendToStream('s', [{ type: 'leaked' }], 0n),
}

describe('a write context is dead once its function returned', () => {
  it.each(Object.entries(CALLS))(
    '%s after the commit, and while a later group is written: CLOSED, nothing written',
    async (_, call) => {
      const store = await openLmdbStore(tempDir())
      let leaked: WriteContext | undefined
      await store.commit((tx) => {
        tx.put('a', TypedValue.i64(1n))
        tx.appendToStream('s', [{ type: 'kept' }])
        leaked = tx
      })
      const before = { head: store.head(), digest: store.stateDigest() }
      expect(await codeOf(() => call(leaked!))).toBe('CLOSED')
      // Called while the writer waits for LMDB to commit a later group (between its members and
      // its acknowledgement): that group carries nothing of it either.
      let during = 'not called'
      const later = store.commit((tx) => {
        tx.put('b', TypedValue.i64(2n))
        setImmediate(() => {
          void codeOf(() => call(leaked!)).then((code) => {
            during = code
          })
        })
      })
      await later
      await new Promise((resolve) => setImmediate(resolve))
      expect(during).toBe('CLOSED')
      expect(store.head()).toBe(before.head)
      expect(store.get('a')?.asI64()).toBe(1n)
      expect(store.streamVersion('s')).toBe(0n)
      await store.close()
    },
  )
})
