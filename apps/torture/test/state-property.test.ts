// Whole-database property: random sequences of writes, preflighted moves, refused inputs, reopens
// and backup/restore round trips agree with an in-memory model after every step.
import { join } from 'node:path'
import { Azoth } from 'azothdb'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { Summary } from '../src/summary.js'
import { prngFor, profile, runDir } from './support/run-context.js'
import { checkAll, stateCommands } from './support/state-commands.js'
import { type RealDatabase, StateModel } from './support/state-model.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'state-property'))

describe.each(['lmdb', 'file'] as const)('random operation sequences (eventLog %s)', (eventLog) => {
  it(`agree with the model over ${profile.propertyRuns} runs`, async () => {
    const tally = summary.tally('property', eventLog)
    const seed = prngFor(`state-property-${eventLog}`).seed() | 0
    await fc.assert(
      fc.asyncProperty(stateCommands(), async (commands) => {
        const root = tempDir()
        const dir = join(root, 'db')
        const real: RealDatabase = {
          db: await Azoth.open(dir, { eventLog }),
          dir,
          eventLog,
          root,
          reopens: 0,
        }
        const model = new StateModel()
        try {
          await fc.asyncModelRun(() => ({ model, real }), [...commands])
          checkAll(model, real)
          tally.inputsTried += [...commands].length
          tally.invariantChecks += [...commands].length + 1
        } finally {
          await real.db.close()
        }
      }),
      { seed, numRuns: profile.propertyRuns },
    )
  }, 3_600_000)

  it('returns a key that is not valid UTF-8 as its bytes, never as a lossy string, from a string scan', async () => {
    const tally = summary.tally('property', eventLog)
    await using db = await Azoth.open(join(tempDir(), 'db'), { eventLog })
    const key = new Uint8Array([0x6b, 0xff, 0x00])
    await db.writeBatch().put(key, 1n).put('k-text', 2n).commit()
    const keys = [...db.scan('k')].map((e) => e.key)
    tally.inputsTried++
    expect(keys).toEqual(['k-text', key])
    tally.invariantChecks++
  })
})
