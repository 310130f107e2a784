import { TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { tempDir } from './support/temp-dir.js'

describe('one writer process at a time', () => {
  it('a second writer process gets LOCKED; a read-only open from another process sees committed data', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => {
      tx.put('balance', TypedValue.i64(42n))
      tx.appendEvent('deposited', { amount: 42 })
    })
    const second = await runTypeScript(new URL('./fixtures/open-writer.ts', import.meta.url), [dir])
    expect(second.stdout.trim()).toBe('error LOCKED')
    const reader = await runTypeScript(new URL('./fixtures/read-only.ts', import.meta.url), [dir, 'balance'])
    expect(reader.stdout.trim()).toBe('head 1 value 42')
    await store.close()
    const after = await runTypeScript(new URL('./fixtures/open-writer.ts', import.meta.url), [dir])
    expect(after.stdout.trim()).toBe('opened')
  }, 60_000)
})
