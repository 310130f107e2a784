import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { measureCase } from '../src/harness.js'
import { pgUnavailable } from '../src/pg-server.js'
import emmett from '../src/sections/emmett.js'
import emmettPostgres from '../src/sections/emmett-postgres.js'

const tempDirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'azoth-bench-emmett-test-'))
  tempDirs.push(dir)
  return dir
}
afterEach(async () => {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

describe('the Emmett peer sections', () => {
  // Building the cases starts no server (the first raw setup does); without PostgreSQL binaries the
  // section has no cases to compare.
  it.skipIf(pgUnavailable !== undefined)(
    'emmett-postgres has the emmett section workloads, each with Emmett PostgreSQL as its raw side',
    async () => {
      const pgCases = await emmettPostgres.cases({ quick: true, tmpDir: await tempDir() })
      const sqliteCases = await emmett.cases({ quick: true, tmpDir: await tempDir() })
      const workload = (name: string): string => name.replace(/ into a \w+ read model/, '')
      expect(pgCases.map((c) => workload(c.name))).toEqual(sqliteCases.map((c) => workload(c.name)))
      for (const c of pgCases) {
        expect(c.name.startsWith('Emmett')).toBe(true)
        expect(c.raw).toBeDefined()
        expect(String(c.params?.['emmett'])).toContain('fsync=on, synchronous_commit=on')
      }
    },
  )

  it("projection catch-up applies every event on Azoth's and on Emmett SQLite's side", async () => {
    const cases = await emmett.cases({ quick: true, tmpDir: await tempDir() })
    const catchUp = cases.find((c) => c.name.includes('catch-up'))
    expect(catchUp).toBeDefined()
    const result = await measureCase(catchUp!, { runs: 1, warmup: 0 })
    expect(result.error).toBeUndefined()
    expect(result.ours?.samples[0]?.units).toBe(2_000)
    expect(result.raw?.samples[0]?.units).toBe(2_000)
  }, 60_000)
})
