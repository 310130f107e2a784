import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { TypedValue } from '@azoth/core'
import { DATA_FILE, openLmdbStore } from '@azoth/store-lmdb'
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
})
