import { afterAll, expect, it } from 'vitest'
import { Summary } from '../../src/summary.js'
import { crashLoop } from './crash-loop.js'
import { prngFor, profile, runDir } from './run-context.js'
import { tempDir } from './temp-dir.js'

/**
 * The crash loop of one event-log backend, as a test of its own file: one file per backend, so
 * vitest runs the two loops side by side.
 */
export function crashLoopTest(eventLog: 'lmdb' | 'file'): void {
  const name = `crash-loop-${eventLog}`
  const summary = new Summary()
  afterAll(() => summary.writeFragment(runDir(), name))

  it(
    `survives ${profile.killsPerBackend} SIGKILLs of the mixed workload (eventLog ${eventLog})`,
    async () => {
      const tally = summary.tally('crash loop', eventLog)
      const failures = await crashLoop({
        dir: `${tempDir()}/db`,
        eventLog,
        kills: profile.killsPerBackend,
        random: prngFor(name),
        tally,
        log: (line) => console.log(line),
      })
      // The database after every kill, then what killed restores and backups left behind.
      expect(failures.flatMap((f) => f.violations)).toEqual([])
      expect(tally.kills).toBe(profile.killsPerBackend)
      expect(failures.flatMap((f) => f.restoreViolations)).toEqual([])
      expect(tally.lost).toBe(0)
      // About a minute alone in the short profile; a shared machine can make it several.
    },
    profile.name === 'long' ? 3 * 60 * 60_000 : 900_000,
  )
}
