import { join } from 'node:path'
import { decodeEvent } from '@azoth/core'
import { SqliteProjectionStore } from '@azoth/projection-sqlite'
import { openLmdbStore } from '@azoth/store-lmdb'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { appendDeposits, balances, expectedBalances, type Fixture, makeFixture } from './support/fixture.js'
import { MemoryEventSource } from './support/memory-event-source.js'

const CHILD = new URL('./support/crash-child.ts', import.meta.url)
const STRESS = process.env['AZOTH_STRESS'] === '1'
const KILLS = STRESS ? 40 : 6
const TOTAL = STRESS ? 60_000 : 20_000

let f: Fixture
beforeEach(async () => {
  f = await makeFixture()
  await f.store.close()
})
afterEach(async () => {
  f.store = SqliteProjectionStore.open({ path: f.path })
  await f.cleanup()
})

/** Runs the child; kills it `killAfterMs` after it says it started (undefined: let it finish). */
function runChild(
  path: string,
  maxEvents: number,
  killAfterMs: number | undefined,
  lmdbDir?: string,
): Promise<'done' | 'killed'> {
  return new Promise((resolveRun, reject) => {
    const args = [path, String(TOTAL), String(maxEvents)]
    if (lmdbDir !== undefined) args.push(lmdbDir)
    const child = spawnTypeScript(CHILD, args)
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      if (killAfterMs !== undefined && out.includes('started')) {
        setTimeout(() => child.kill('SIGKILL'), killAfterMs)
        killAfterMs = undefined
      }
    })
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolveRun(out.includes('done') ? 'done' : 'killed')
      else if (code === 0) resolveRun('done')
      else reject(new Error(`child exited with ${code}: ${err}`))
    })
  })
}

/** Kills the child `kills` times at deterministic moments, lets it finish, checks the tables. */
async function killRestartAndCheck(kills: number, lmdbDir?: string): Promise<void> {
  const cursorsAfterKills: number[] = []
  for (let i = 0; i < kills; i++) {
    // Deterministic "random" moments and batch sizes, spread over the run.
    const killAfterMs = 1 + ((i * 7919) % 120)
    const maxEvents = 1 + ((i * 37) % 50)
    if ((await runChild(f.path, maxEvents, killAfterMs, lmdbDir)) === 'killed') {
      const store = SqliteProjectionStore.open({ path: f.path })
      cursorsAfterKills.push(await store.getCursor('crash'))
      await store.close()
    }
  }
  // Most kills must hit the middle of the projection, or the test proves nothing.
  expect(cursorsAfterKills.filter((c) => c > 0 && c < TOTAL).length).toBeGreaterThanOrEqual(kills / 2)
  expect(await runChild(f.path, 97, undefined, lmdbDir)).toBe('done')
  const store = SqliteProjectionStore.open({ path: f.path })
  try {
    const source = new MemoryEventSource()
    appendDeposits(source, TOTAL)
    expect(await store.getCursor('crash')).toBe(TOTAL)
    expect(await balances(store)).toEqual(expectedBalances(source))
    const [applied] = await store.query<{ n: number; max: number }>(
      'SELECT count(*) AS n, max(event_id) AS max FROM applied',
    )
    expect(applied).toEqual({ n: TOTAL - TOTAL / 10, max: TOTAL - 1 })
  } finally {
    await store.close()
  }
}

describe('exactly-once across SIGKILL', () => {
  it(
    'after random kills and a restart, the tables equal a projection computed from scratch',
    () => killRestartAndCheck(KILLS),
    STRESS ? 600_000 : 90_000,
  )

  it(
    'the same with the LMDB canonical store as the event source',
    async () => {
      const lmdbDir = join(f.dir, 'canonical')
      const canonical = await openLmdbStore(lmdbDir, { durability: 'relaxed' })
      const memory = new MemoryEventSource()
      appendDeposits(memory, TOTAL)
      for (let from = 1; from <= TOTAL; from += 1_000) {
        const records = [...memory.events({ from, limit: 1_000 })].map((r) => decodeEvent(r.id, r.bytes))
        await canonical.commit((tx) => {
          for (const e of records) tx.appendEvent(e.type, e.payload)
        })
      }
      expect(canonical.head()).toBe(TOTAL)
      await canonical.close()
      await killRestartAndCheck(Math.ceil(KILLS / 2), lmdbDir)
    },
    STRESS ? 600_000 : 90_000,
  )
})
