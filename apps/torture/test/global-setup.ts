import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { currentProfile, runSeed } from '../src/profile.js'
import { formatSummary, readFragments, writeResults } from '../src/summary.js'

const RESULTS = fileURLToPath(new URL('../results', import.meta.url))

/** Picks and prints the seed, then merges every file's tally into one summary at the end. */
export default function setup(project: TestProject): () => void {
  const profile = currentProfile()
  const seed = runSeed()
  const runDir = mkdtempSync(join(tmpdir(), 'azoth-torture-run-'))
  project.provide('tortureSeed', seed)
  project.provide('tortureRunDir', runDir)
  console.log(`torture: profile ${profile.name}, seed ${seed} (rerun with AZOTH_TORTURE_SEED=${seed})`)
  return () => {
    const rows = readFragments(runDir)
    rmSync(runDir, { recursive: true, force: true })
    console.log(formatSummary(rows, `torture summary: profile ${profile.name}, seed ${seed}`))
    if (profile.name === 'long') {
      for (const path of writeResults(RESULTS, rows, { profile: profile.name, seed }))
        console.log(`wrote ${path}`)
    }
  }
}
