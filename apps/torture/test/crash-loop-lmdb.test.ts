import { afterAll, expect, it } from 'vitest'
import { Summary } from '../src/summary.js'
import { crashLoop } from './support/crash-loop.js'
import { prngFor, profile, runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'crash-loop-lmdb'))

it(
  `survives ${profile.killsPerBackend} SIGKILLs of the mixed workload (eventLog lmdb)`,
  async () => {
    const tally = summary.tally('crash loop', 'lmdb')
    const failures = await crashLoop({
      dir: `${tempDir()}/db`,
      eventLog: 'lmdb',
      kills: profile.killsPerBackend,
      random: prngFor('crash-loop-lmdb'),
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
