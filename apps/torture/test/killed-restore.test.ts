// A restore killed at a random moment leaves nothing that opens (or, killed after its last step,
// the whole backup), and running it again into the same target succeeds.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Azoth, isAzothError } from 'azothdb'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { Summary } from '../src/summary.js'
import { collectLines, kill } from './support/child-lines.js'
import { buildReferenceLedger } from './support/reference-ledger.js'
import { prngFor, profile, runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'killed-restore'))

const WORKER = new URL('../fixtures/restore-worker.ts', import.meta.url)
const KILLS = profile.name === 'long' ? 100 : 6

describe.each(['lmdb', 'file'] as const)('killed restore (eventLog %s)', (eventLog) => {
  it(`leaves nothing that opens and reruns cleanly (${KILLS} kills)`, async () => {
    const tally = summary.tally('killed restore', eventLog)
    const random = prngFor(`killed-restore-${eventLog}`)
    const root = tempDir()
    const backup = join(root, 'backup')
    await buildReferenceLedger(join(root, 'db'), backup, eventLog, random, 400)
    const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8')) as {
      sealedEventId: number
      stateDigest: string
    }
    const problems: string[] = []
    for (let k = 0; k < KILLS; k++) {
      const target = join(root, `restored-${k}`)
      const child = spawnTypeScript(WORKER, [backup, target])
      const delayMs = random.int(0, 60)
      const ended = await collectLines(child, (line) => {
        if (line === 'restoring') setTimeout(() => kill(child), delayMs)
      })
      if (ended.signal !== 'SIGKILL') {
        // Finished before the kill landed: nothing to judge, unless it failed.
        if (ended.code !== 0)
          problems.push(`restore ${k} failed (${ended.code}): ${ended.stderr.slice(-500)}`)
        continue
      }
      tally.kills++
      tally.faultsInjected++
      let complete = false
      try {
        const db = await Azoth.open(target, { create: false })
        complete = db.head() === manifest.sealedEventId && db.stateDigest() === manifest.stateDigest
        await db.close()
        if (!complete) {
          tally.lost++
          problems.push(`kill ${k} after ${delayMs} ms: the target opens with other data than the backup`)
        }
      } catch (e) {
        if (!isAzothError(e)) problems.push(`kill ${k}: opening the target raised a raw error ${String(e)}`)
      }
      if (!complete) {
        try {
          const db = await Azoth.restoreFrom(backup, target)
          await db.close()
        } catch (e) {
          problems.push(`kill ${k} after ${delayMs} ms: the rerun failed: ${String(e)}`)
        }
      }
      tally.inputsTried++
      tally.invariantChecks += 2
    }
    expect(problems).toEqual([])
    expect(tally.kills).toBeGreaterThan(0)
  }, 300_000)
})
