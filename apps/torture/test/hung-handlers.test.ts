// A projector handler whose promise never settles, next to slow ones: the stuck event times out
// and is dead-lettered, the others land, and runOnce, backupTo, stop and close all finish.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { Summary } from '../src/summary.js'
import { runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'hung-handlers'))

const FIXTURE = new URL('../fixtures/hung-handler.ts', import.meta.url)

describe.each(['lmdb', 'file'] as const)('hung and slow handlers (eventLog %s)', (eventLog) => {
  it('time out into the error strategy; runOnce, backupTo, stop and close finish', async () => {
    const tally = summary.tally('hung handlers', eventLog)
    const run = await runTypeScript(FIXTURE, [join(tempDir(), 'db'), eventLog])
    const line = run.stdout.split('\n').find((l) => l.startsWith('result '))
    expect(line, `the child died: exit ${run.code}, ${run.stderr.slice(-1500)}`).toBeDefined()
    const r = JSON.parse(line!.slice('result '.length))
    tally.faultsInjected += 2
    tally.inputsTried += 10
    const problems: string[] = [...r.unhandled]
    for (const [name, outcome] of Object.entries(r.steps))
      if (outcome !== 'ok') problems.push(`${name}: ${outcome}`)
    if (JSON.stringify(r.parked) !== JSON.stringify([r.hungId]))
      problems.push(`dead letters ${JSON.stringify(r.parked)}, the hung event ${r.hungId} due`)
    if (JSON.stringify(r.seen) !== JSON.stringify([1, 2, 4, 5, 6, 7]))
      problems.push(`applied ${JSON.stringify(r.seen)}, every event but the hung one due`)
    expect(problems).toEqual([])
    tally.invariantChecks += 6
  }, 150_000)
})
