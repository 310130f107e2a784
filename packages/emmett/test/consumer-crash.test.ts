import { getAzothEventStore } from '@azothdb/emmett'
import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { killWhileRunning, spawnTypeScript } from '../../../vitest.shared.js'
import { tempDir } from './support/temp-dir.js'

const ROUNDS = process.env.AZOTH_STRESS ? 20 : 3
const BATCH = 50

/** Runs the child and SIGKILLs it at a random moment once it runs; returns what it handled, in order. */
async function runAndKill(dir: string, eventLog: string): Promise<number[]> {
  const child = spawnTypeScript(new URL('./fixtures/consumer-crash.ts', import.meta.url), [
    dir,
    eventLog,
    String(BATCH),
  ])
  const handled: number[] = []
  await killWhileRunning(
    child,
    (line) => {
      if (line.startsWith('handled ')) handled.push(Number(line.slice('handled '.length)))
    },
    { minMs: 150, spreadMs: 500 },
  )
  return handled
}

describe.each(['lmdb', 'file'] as const)('the consumer under SIGKILL (eventLog %s)', (eventLog) => {
  it(`hands every event over at least once, repeating at most the batch in flight (${ROUNDS} rounds)`, {
    timeout: 120_000,
  }, async () => {
    const dir = tempDir()
    {
      await using db = await Azoth.open(dir, { eventLog })
      for (let i = 0; i < 20; i++) {
        await getAzothEventStore(db).appendToStream(
          `cart-${i}`,
          Array.from({ length: 100 }, () => ({ type: 'ItemAdded', data: { i } })),
        )
      }
    }
    const runs: number[][] = []
    for (let round = 0; round < ROUNDS; round++) runs.push(await runAndKill(dir, eventLog))
    // The last run, in this process, to a head no earlier run can have reached.
    await using db = await Azoth.open(dir, { eventLog })
    await getAzothEventStore(db).appendToStream('cart-last', [{ type: 'ItemAdded', data: {} }])
    const head = db.head()
    const last: number[] = []
    const consumer = getAzothEventStore(db).consumer({ pulling: { batchSize: BATCH } })
    consumer.reactor({
      processorId: 'sink',
      eachMessage: (m) => void last.push(Number(m.metadata.globalPosition)),
      stopAfter: (m) => m.metadata.globalPosition === BigInt(head),
    })
    await consumer.start()
    await consumer.close()
    runs.push(last)

    const seen = new Set<number>()
    let repeated = 0
    for (const run of runs) {
      // Within a run: global order, each once.
      for (let i = 1; i < run.length; i++) expect(run[i]).toBe(run[i - 1]! + 1)
      const again = run.filter((p) => seen.has(p))
      // A run repeats at most the batch the previous one was killed in, and only from its start.
      expect(again.length).toBeLessThanOrEqual(BATCH)
      expect(run.slice(0, again.length)).toEqual(again)
      repeated += again.length
      for (const p of run) seen.add(p)
    }
    expect(runs.slice(0, ROUNDS).every((run) => run.length > 0)).toBe(true)
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
    expect(repeated).toBeLessThanOrEqual(ROUNDS * BATCH)
  })
})
