import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { TypedValue } from '@azothdb/core'
import { DATA_FILE, openLmdbStore } from '@azothdb/store-lmdb'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildMdbTools } from './support/mdb-tools.js'
import { tempDir } from './support/temp-dir.js'

let tools: string

beforeAll(() => {
  tools = buildMdbTools()
}, 120_000)

describe("LMDB's own tools read the environment", () => {
  it('mdb_stat lists the state, events and meta databases while the store is open', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir)
    await store.commit((tx) => {
      for (let i = 0; i < 10; i++) tx.put(`k${i}`, TypedValue.i64(i))
      tx.appendEvent('e', { i: 1 })
    })
    const out = execFileSync(join(tools, 'mdb_stat'), ['-n', '-a', join(dir, DATA_FILE)], {
      encoding: 'utf8',
    })
    expect(out).toMatch(/Status of state[\s\S]*Entries: 10/)
    expect(out).toMatch(/Status of events[\s\S]*Entries: 1/)
    expect(out).toMatch(/Status of meta/)
    const dump = execFileSync(join(tools, 'mdb_dump'), ['-n', '-p', '-s', 'state', join(dir, DATA_FILE)], {
      encoding: 'utf8',
    })
    expect(dump).toContain(' k3\n')
    await store.close()
  })

  it('commits each group in exactly one LMDB transaction, however many writes it holds', async () => {
    const dir = tempDir()
    const store = await openLmdbStore(dir, { eventChunkBytes: 1024 })
    const lastTxnId = () => {
      const out = execFileSync(join(tools, 'mdb_stat'), ['-n', '-e', join(dir, DATA_FILE)], {
        encoding: 'utf8',
      })
      return Number(/Last transaction ID: (\d+)/.exec(out)?.[1])
    }
    await store.commit((tx) => tx.put('warm-up', TypedValue.i64(0)))
    const txnBefore = lastTxnId()
    const groupsBefore = store.commitStats().groups
    // Many members, each with several keys and events: thousands of lmdb-js writes per group.
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        store.commit((tx) => {
          for (let k = 0; k < 5; k++) tx.put(`m${i}/k${k}`, TypedValue.i64(k))
          tx.delete(`m${i}/k0`)
          for (let e = 0; e < 3; e++) tx.appendEvent('e', { i, e, pad: 'x'.repeat(100) })
        }),
      ),
    )
    const groups = store.commitStats().groups - groupsBefore
    expect(groups).toBeGreaterThan(0)
    expect(lastTxnId() - txnBefore).toBe(groups)
    expect(store.head()).toBe(1200)
    await store.close()
  })
})
