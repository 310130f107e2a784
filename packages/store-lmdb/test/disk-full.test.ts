import { existsSync, mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type AzothError, TypedValue } from '@azothdb/core'
import { openLmdbStore } from '@azothdb/store-lmdb'
import { describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { codeOf } from './support/code-of.js'
import { cannotMountTmpfs, mountTmpfs } from './support/tmpfs.js'

interface DiskFullRun {
  readonly committedKeys: string[]
  readonly failures: { code: string; errno: unknown }[]
  readonly head: number
}

// A real full disk needs a size-limited tmpfs, which only root can mount: elsewhere this is skipped.
const skipReason = cannotMountTmpfs()

describe.skipIf(skipReason !== undefined)('a full disk', () => {
  const cases = [
    { durability: 'sync', reserve: 'reserve' },
    { durability: 'relaxed', reserve: 'reserve' },
    // Without the reserve LMDB's own page writes meet the full disk: lmdb-js's failed commit.
    { durability: 'sync', reserve: 'no-reserve' },
    { durability: 'relaxed', reserve: 'no-reserve' },
  ] as const
  for (const { durability, reserve } of cases) {
    it(`fails commits with IO/ENOSPC, leaves no unhandled rejection, resumes when space returns, closes while full (${durability}, ${reserve})`, async () => {
      const tmpfs = mountTmpfs('16m')
      try {
        const dir = join(tmpfs.dir, 'store')
        mkdirSync(dir)
        // The child fills the tmpfs with a ballast file, so the store's next page writes fail.
        const child = await runTypeScript(new URL('./fixtures/disk-full.ts', import.meta.url), [
          dir,
          join(tmpfs.dir, 'ballast'),
          durability,
          reserve,
          '20',
        ])
        expect(child.stderr).not.toMatch(/unhandledRejection|malloc|corrupt|Abort/i)
        // With the reserve the full disk is met before LMDB writes anything (LMDB reports its
        // failed page writes on stderr: "Write error: No space left on device").
        if (reserve === 'reserve') expect(child.stderr).not.toMatch(/Write error/)
        else expect(child.stderr).toMatch(/Write error: No space left on device/)
        expect(child.code).toBe(0)
        const run = JSON.parse(child.stdout) as DiskFullRun
        expect(run.failures.length).toBeGreaterThanOrEqual(22)
        for (const failure of run.failures) expect(failure).toEqual({ code: 'IO', errno: 'ENOSPC' })
        // Everything acknowledged is there after reopening: before the disk filled, and after it was freed.
        expect(run.committedKeys.filter((k) => k.startsWith('after/'))).toHaveLength(5)
        expect(run.head).toBe(run.committedKeys.length)
        const store = await openLmdbStore(dir, { readOnly: true })
        try {
          expect(store.head()).toBe(run.head)
          for (const key of run.committedKeys) expect(store.get(key)?.asBytes().length).toBe(16 * 1024)
          const keys = new Set(run.committedKeys)
          for (const { key } of store.scan('')) expect(keys.has(key as string)).toBe(true)
          expect([...store.events()].length).toBe(run.head)
        } finally {
          await store.close()
        }
      } finally {
        tmpfs.unmount()
      }
    }, 60_000)
  }

  /** Fills the tmpfs at `dir` with a ballast file so that `free` bytes stay free; returns its path. */
  function fillLeaving(dir: string, free: number): string {
    const ballast = join(dir, 'ballast')
    rmSync(ballast, { force: true })
    const stats = statfsSync(dir)
    writeFileSync(ballast, new Uint8Array(Math.max(0, stats.bavail * stats.bsize - free)))
    return ballast
  }

  async function failureOf(open: Promise<{ close(): Promise<void> }>): Promise<unknown> {
    try {
      await (await open).close()
      return 'opened'
    } catch (e) {
      return { code: (e as AzothError).code, errno: (e as AzothError).details?.errno }
    }
  }

  it('a stream append in a group that failed on a full disk leaves the stream where LMDB has it: the next append expects the old version', async () => {
    const tmpfs = mountTmpfs('16m')
    try {
      const dir = join(tmpfs.dir, 'store')
      const store = await openLmdbStore(dir)
      try {
        const append = (data: number, expected: bigint | 'no_stream') =>
          store.commit((tx) =>
            tx.appendToStream(
              's-1',
              [{ type: 'T', data: { n: data, pad: 'x'.repeat(512 * 1024) } }],
              expected,
            ),
          )
        await append(0, 'no_stream')
        const ballast = fillLeaving(tmpfs.dir, 0)
        // The store's file may still have room for a few appends; then they fail.
        let version = 0n
        let failed = 0
        for (let i = 0; i < 60 && failed < 3; i++) {
          const code = await codeOf(append(i, version))
          if (code === 'no error') version++
          else {
            expect(code).toBe('IO')
            failed++
          }
        }
        expect(failed).toBe(3)
        rmSync(ballast)
        // The writer remembers the heads of committed groups only.
        expect(await codeOf(append(-1, version + 1n))).toBe('CONFLICT')
        expect((await append(-1, version)).result.nextExpectedStreamVersion).toBe(version + 1n)
        expect(await codeOf(append(-2, version))).toBe('CONFLICT')
        await append(-2, version + 1n)
        expect(store.streamVersion('s-1')).toBe(version + 2n)
        expect([...store.readStream('s-1')].map((r) => r.version)).toEqual(
          Array.from({ length: Number(version) + 3 }, (_, v) => BigInt(v)),
        )
      } finally {
        await store.close()
      }
    } finally {
      tmpfs.unmount()
    }
  })

  it('the space reserve stays bounded by what the store holds: a bulk load into a small store reserves MiB, not a page per write', async () => {
    // A 32 MiB disk: a reserve of a page per write (20,000 writes, 80 MiB at 4 KiB pages) cannot fit.
    const tmpfs = mountTmpfs('32m')
    try {
      const dir = join(tmpfs.dir, 'store')
      const store = await openLmdbStore(dir)
      for (let round = 0; round < 3; round++) {
        await store.commit((tx) => {
          for (let i = 0; i < 20_000; i++) tx.put(`k/${round}/${i}`, TypedValue.i64(BigInt(i)))
        })
      }
      expect(store.get('k/2/19999')?.asI64()).toBe(19_999n)
      await store.close()
      expect(statSync(join(dir, 'data.mdb')).size).toBeLessThan(24 * 1024 * 1024)
    } finally {
      tmpfs.unmount()
    }
  })

  it('a new store on a nearly full disk is IO/ENOSPC, never a crash inside LMDB, and leaves nothing behind', async () => {
    const tmpfs = mountTmpfs('2m')
    try {
      const dir = join(tmpfs.dir, 'store')
      // LMDB maps space it sized with ftruncate: with these few pages free it used to die of SIGBUS.
      for (const free of [0, 4096, 8192, 16384, 65536, 512 * 1024]) {
        fillLeaving(tmpfs.dir, free)
        expect(await failureOf(openLmdbStore(dir))).toEqual({ code: 'IO', errno: 'ENOSPC' })
        expect(existsSync(dir)).toBe(false)
      }
      rmSync(join(tmpfs.dir, 'ballast'))
      const store = await openLmdbStore(dir)
      await store.commit((tx) => tx.put('k', TypedValue.i64(1n)))
      await store.close()
    } finally {
      tmpfs.unmount()
    }
  })

  it('a store whose LMDB lock file is gone opens on a full disk with IO/ENOSPC, and normally once space returns', async () => {
    const tmpfs = mountTmpfs('4m')
    try {
      const dir = join(tmpfs.dir, 'store')
      let store = await openLmdbStore(dir)
      await store.commit((tx) => tx.put('k', TypedValue.i64(7n)))
      await store.close()
      rmSync(join(dir, 'data.mdb-lock'))
      const ballast = fillLeaving(tmpfs.dir, 0)
      expect(await failureOf(openLmdbStore(dir))).toEqual({ code: 'IO', errno: 'ENOSPC' })
      expect(await failureOf(openLmdbStore(dir, { readOnly: true }))).toEqual({ code: 'IO', errno: 'ENOSPC' })
      rmSync(ballast)
      store = await openLmdbStore(dir, { readOnly: true })
      expect(store.get('k')?.asI64()).toBe(7n)
      await store.close()
    } finally {
      tmpfs.unmount()
    }
  })
})
