import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { killWhileRunning, spawnTypeScript } from '../../../vitest.shared.js'
import { balancesProjector, snapshotBank } from './support/bank.js'
import { expectBankInvariants } from './support/bank-assertions.js'
import { tempDir } from './support/temp-dir.js'

const ROUNDS = process.env.AZOTH_STRESS ? 25 : 4
const ACCOUNTS = 200

/** Runs the bank child, kills it with SIGKILL at a random moment, returns the acknowledged transfers. */
async function runAndKill(
  dir: string,
  eventLog: string,
  durability: string,
  round: number,
): Promise<Map<number, number>> {
  const idBase = (round + 1) * 1_000_000
  const child = spawnTypeScript(new URL('./fixtures/bank-crash.ts', import.meta.url), [
    dir,
    eventLog,
    String(idBase),
    String(ACCOUNTS),
    String(round),
    durability,
  ])
  const acked = new Map<number, number>()
  await killWhileRunning(
    child,
    (line) => {
      if (line.startsWith('ack ')) {
        const [, id, eventId] = line.split(' ')
        acked.set(Number(id), Number(eventId))
      }
    },
    { minMs: 50, spreadMs: 700 },
  )
  return acked
}

// 'relaxed' promises the same after a process crash as 'sync': the OS holds what was acknowledged.
describe.each([
  ['lmdb', 'sync'],
  ['file', 'sync'],
  ['lmdb', 'relaxed'],
  ['file', 'relaxed'],
] as const)('crash safety (eventLog %s, durability %s)', (eventLog, durability) => {
  it(`SIGKILL at random moments during transfers with a running projector (${ROUNDS} rounds)`, async () => {
    const dir = tempDir()
    const allAcked = new Map<number, number>()
    let lastHead = 0
    // How far the child's running projector got before a kill (the cursor found on reopen).
    let projectedInChild = 0
    for (let round = 0; round < ROUNDS; round++) {
      const acked = await runAndKill(dir, eventLog, durability, round)
      for (const [id, eventId] of acked) allAcked.set(id, eventId)
      if (process.env.AZOTH_TEST_VERBOSE) console.log(`round ${round}: ${acked.size} acked`)
      await using db = await Azoth.open(dir, { eventLog })
      const projector = await balancesProjector(db)
      // The projection may lag the log after a crash, never run ahead of it or diverge: catch up.
      const stats = await projector.runOnce()
      expect(stats.cursor).toBe(db.head())
      projectedInChild = Math.max(projectedInChild, stats.from)
      const snap = await snapshotBank(db)
      expectBankInvariants(snap, ACCOUNTS)
      expect(snap.head).toBeGreaterThanOrEqual(lastHead)
      lastHead = snap.head
      // No acknowledged transfer is missing, and each sits at the event id its commit reported.
      const missing = [...allAcked].filter(([id, eventId]) => snap.eventOfTransfer.get(id) !== eventId)
      expect(missing).toEqual([])
    }
    expect(allAcked.size).toBeGreaterThan(0)
    expect(projectedInChild).toBeGreaterThan(0)
  }, 300_000)
})
