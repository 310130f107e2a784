import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type AzothError, isAzothError, TypedValue } from '@azothdb/core'
import { DATA_FILE, openLmdbStore } from '@azothdb/store-lmdb'
import { open } from 'lmdb'
import { describe, expect, it } from 'vitest'
import { dirSnapshot } from './support/dir-snapshot.js'
import { tempDir } from './support/temp-dir.js'

async function openError(dir: string, options: Parameters<typeof openLmdbStore>[1]): Promise<AzothError> {
  const outcome = await openLmdbStore(dir, options).then(
    async (store) => {
      await store.close()
      return 'opened'
    },
    (e: unknown) => e,
  )
  if (!isAzothError(outcome)) throw new Error(`expected an AzothError, got ${String(outcome)}`)
  return outcome
}

/** Expects `mustExist` to refuse `dir` with CORRUPTION and to leave it exactly as it was. */
async function expectRefused(dir: string): Promise<AzothError> {
  const before = dirSnapshot(dir)
  const e = await openError(dir, { mustExist: true })
  expect(e.code).toBe('CORRUPTION')
  expect(e.details).toMatchObject({ path: dir })
  expect(dirSnapshot(dir)).toEqual(before)
  return e
}

describe('mustExist: a store that should be there is never silently recreated', () => {
  it('a missing directory is CORRUPTION and is not created', async () => {
    const dir = join(tempDir(), 'canonical')
    await expectRefused(dir)
    expect(dirSnapshot(dir)).toBeNull()
  })

  it('a directory without data.mdb, or with an empty one, is CORRUPTION; no lock or data file is left', async () => {
    const dir = tempDir()
    expect((await expectRefused(dir)).message).toMatch(/missing/)
    writeFileSync(join(dir, DATA_FILE), '')
    expect((await expectRefused(dir)).message).toMatch(/empty/)
  })

  it('an LMDB environment that never committed, or holds no Azoth store, is CORRUPTION and is not written', async () => {
    const never = tempDir()
    await open({ path: join(never, DATA_FILE) }).close()
    expect((await expectRefused(never)).message).toMatch(/never written/)

    const foreign = tempDir()
    const env = open({ path: join(foreign, DATA_FILE), maxDbs: 8 })
    env.openDB({ name: 'someone-else' }).putSync('x', 1)
    await env.close()
    await expectRefused(foreign)
  })

  it('an existing store opens as it was', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => {
      tx.put('kept', TypedValue.i64(1n))
      tx.appendEvent('e', 1)
    })
    await store.close()
    const again = await openLmdbStore(dir, { mustExist: true })
    expect(again.get('kept')?.asI64()).toBe(1n)
    expect(again.head()).toBe(1)
    await again.close()
  })

  it('a value other than a boolean is CONFIG, before anything is created', async () => {
    const dir = join(tempDir(), 'new')
    const e = await openError(dir, { mustExist: 'yes' as unknown as boolean })
    expect(e.code).toBe('CONFIG')
    expect(e.details).toMatchObject({ field: 'mustExist' })
    expect(dirSnapshot(dir)).toBeNull()
  })

  it('without mustExist a missing store is created, as before', async () => {
    const dir = join(tempDir(), 'new')
    mkdirSync(dir)
    const store = await openLmdbStore(dir)
    expect(store.head()).toBe(0)
    await store.close()
  })
})
