// A restore killed at a random moment leaves nothing that opens (or, killed after its last step,
// the whole backup), and running it again into the same target succeeds.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { Summary } from '../src/summary.js'
import { collectLines, kill } from './support/child-lines.js'
import { inspect, inspectAll } from './support/inspect-child.js'
import { buildReferenceLedger } from './support/reference-ledger.js'
import { prngFor, profile, runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'killed-restore'))

const WORKER = new URL('../fixtures/restore-worker.ts', import.meta.url)
const KILLS = profile.name === 'long' ? 100 : 10

describe.each(['lmdb', 'file'] as const)('killed restore (eventLog %s)', (eventLog) => {
  it(
    `leaves nothing that opens and reruns cleanly (${KILLS} kills)`,
    async () => {
      const tally = summary.tally('killed restore', eventLog)
      const random = prngFor(`killed-restore-${eventLog}`)
      const root = tempDir()
      const backup = join(root, 'backup')
      await buildReferenceLedger(join(root, 'db'), backup, eventLog, random, 400, 400)
      // An undisturbed restore first: what a whole restore reads, and how long it takes.
      const timing = await collectLines(spawnTypeScript(WORKER, [backup, join(root, 'whole')]))
      const done = timing.lines.find((l) => l.startsWith('done '))
      expect(done, timing.stderr).toBeDefined()
      const restoreMs = Number(done!.split(' ')[1])
      const whole = await inspect(join(root, 'whole'), eventLog)
      if (!whole.writable?.ok) throw new Error(`a whole restore does not open: ${JSON.stringify(whole)}`)
      const expected = JSON.stringify(whole.writable.view)

      const targets: string[] = []
      const problems: string[] = []
      for (let k = 0; k < KILLS; k++) {
        const target = join(root, `restored-${k}`)
        const child = spawnTypeScript(WORKER, [backup, target])
        // Stratified: kill k lands in the k-th slice of the restore, so every phase gets hit.
        const delayMs = Math.floor(((k + random.next()) / KILLS) * restoreMs)
        const ended = await collectLines(child, (line) => {
          if (line === 'restoring') setTimeout(() => kill(child), delayMs)
        })
        if (ended.signal === 'SIGKILL') {
          tally.kills++
          tally.faultsInjected++
          targets.push(target)
        } else if (ended.code !== 0)
          problems.push(`restore ${k} failed (${ended.code}): ${ended.stderr.slice(-500)}`)
      }
      // What each kill left is opened in children: a torn data.mdb may crash the process that maps it.
      const leftovers = await inspectAll(targets.map((dir) => ({ dir, eventLog })))
      const reruns = await inspectAll(targets.map((dir) => ({ dir, eventLog, backupDir: backup })))
      for (const [i, target] of targets.entries()) {
        const left = leftovers[i]!
        tally.inputsTried++
        if (left.crashed) problems.push(`${target}: opening what the kill left crashed: ${left.crashed}`)
        for (const a of [left.readOnly, left.writable]) {
          if (a?.ok && JSON.stringify(a.view) !== expected) {
            tally.lost++
            problems.push(`${target}: the killed restore opens with other data than the backup`)
          } else if (a !== undefined && !a.ok && a.code === 'RAW')
            problems.push(`${target}: raw error ${a.message}`)
        }
        const complete = left.writable?.ok === true
        const rerun = reruns[i]!
        if (!complete && !rerun.restore?.ok)
          problems.push(
            `${target}: rerunning the restore failed: ${JSON.stringify(rerun.crashed ?? rerun.restore)}`,
          )
        tally.invariantChecks += 2
      }
      expect(problems).toEqual([])
      expect(tally.kills).toBeGreaterThan(0)
    },
    profile.name === 'long' ? 3_600_000 : 300_000,
  )
})
