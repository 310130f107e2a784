import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { TypedValue } from '@azothdb/core'
import { DATA_FILE, openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { dirSnapshot } from './support/dir-snapshot.js'
import { tempDir } from './support/temp-dir.js'

interface OpenOutcome {
  readonly opened?: boolean
  readonly head?: number
  readonly code?: string
  readonly details?: Record<string, unknown>
  readonly error?: string
}

/** Opens `dir` in a child process (a SIGBUS kills the child, not the test runner). */
async function openInChild(dir: string, mode: 'write' | 'read' | 'must-exist'): Promise<OpenOutcome> {
  const run = await runTypeScript(new URL('./fixtures/open-outcome.ts', import.meta.url), [dir, mode])
  if (run.code !== 0) throw new Error(`the child died (code ${run.code}): ${run.stderr}`)
  return JSON.parse(run.stdout) as OpenOutcome
}

/**
 * A store with a few hundred pages of state and events; returns its data file, which (without
 * the space reserve's zeros after the last page) ends exactly where its last page does.
 */
async function writtenStore(): Promise<{ dataFile: string; head: number }> {
  const dir = tempDir()
  const store = await openLmdbStore(dir, { reserveSpace: false })
  for (let i = 0; i < 100; i++) {
    await store.commit((tx) => {
      tx.put(`k/${i}`, TypedValue.bytes(new Uint8Array(3000).fill(i)))
      tx.appendEvent('wrote', { i })
    })
  }
  const head = store.head()
  await store.close()
  return { dataFile: join(dir, DATA_FILE), head }
}

/** A copy of the store's data file in a fresh directory, cut to `bytes`. */
function truncatedCopy(dataFile: string, bytes: number): string {
  const dir = tempDir()
  copyFileSync(dataFile, join(dir, DATA_FILE))
  truncateSync(join(dir, DATA_FILE), bytes)
  return dir
}

describe('a damaged data.mdb', () => {
  it('opens intact (control), and truncated anywhere is CORRUPTION naming the sizes, never a crash, and is left as it was', async () => {
    const { dataFile, head } = await writtenStore()
    const size = statSync(dataFile).size
    const pageSize = 4096
    expect(size).toBeGreaterThan(50 * pageSize)

    const intact = truncatedCopy(dataFile, size)
    expect(await openInChild(intact, 'read')).toMatchObject({ opened: true, head })
    expect(await openInChild(intact, 'write')).toMatchObject({ opened: true, head })
    // Longer than its pages (the space reserve writes zeros past the last one) is fine too.
    const longer = truncatedCopy(dataFile, size + 3 * pageSize + 17)
    expect(await openInChild(longer, 'read')).toMatchObject({ opened: true, head })

    const cuts = [
      100, // inside the first meta page
      pageSize + 100, // inside the second meta page
      2 * pageSize, // both meta pages, no data
      Math.floor(size / 2) + 1234, // mid-page
      size - pageSize, // one page short
      size - 1, // one byte short
    ]
    for (const bytes of cuts) {
      const dir = truncatedCopy(dataFile, bytes)
      const before = dirSnapshot(dir)
      const [asWriter, asReader] = await Promise.all([openInChild(dir, 'write'), openInChild(dir, 'read')])
      for (const outcome of [asWriter, asReader]) {
        expect(outcome.code, `cut at ${bytes}: ${JSON.stringify(outcome)}`).toBe('CORRUPTION')
        expect(outcome.details).toMatchObject({ where: join(dir, DATA_FILE), actualBytes: bytes })
        expect(outcome.details?.expectedBytes).toBeGreaterThan(bytes)
      }
      expect(dirSnapshot(dir)).toEqual(before)
    }

    // Cut to nothing: a reader, or a writer that knows a store exists, is refused.
    const empty = truncatedCopy(dataFile, 0)
    const before = dirSnapshot(empty)
    expect((await openInChild(empty, 'read')).code).toBe('CORRUPTION')
    expect((await openInChild(empty, 'must-exist')).code).toBe('CORRUPTION')
    expect(dirSnapshot(empty)).toEqual(before)
  }, 120_000)

  it('with a bad magic number is CORRUPTION naming the file, and is left as it was', async () => {
    const { dataFile } = await writtenStore()
    const dir = tempDir()
    const bytes = readFileSync(dataFile)
    bytes[0x18] = bytes[0x18]! ^ 0xff // the first meta page's magic
    writeFileSync(join(dir, DATA_FILE), bytes)
    const before = dirSnapshot(dir)
    for (const mode of ['write', 'read'] as const) {
      const outcome = await openInChild(dir, mode)
      expect(outcome).toMatchObject({ code: 'CORRUPTION', details: { where: join(dir, DATA_FILE) } })
    }
    expect(dirSnapshot(dir)).toEqual(before)
  }, 60_000)
})
