import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnTypeScript } from '../../../../vitest.shared.js'
import type { Attempt } from '../../src/database-view.js'
import { collectLines, kill } from './child-lines.js'

const INSPECT = new URL('../../fixtures/inspect.ts', import.meta.url)
/** A job that prints nothing for this long is stuck: a hang is a failure too. */
const STALL_MS = 60_000

/** An attempt and, when it failed, the files it changed all the same. */
export type CheckedAttempt = Attempt & { readonly changed: readonly string[] }

/** What the inspecting child saw, or how it died (a crash is never an acceptable answer). */
export interface Inspection {
  readonly restore?: CheckedAttempt
  readonly readOnly?: CheckedAttempt
  readonly writable?: CheckedAttempt
  /** Set when the child died or stalled in this job: its exit and the end of its stderr. */
  readonly crashed?: string
}

export interface InspectJob {
  readonly dir: string
  readonly eventLog: 'lmdb' | 'file'
  /** Restore this backup into `dir` first. */
  readonly backupDir?: string
}

/**
 * Inspects every job in as few children as possible (each child start costs a second): one child
 * runs the jobs in turn; when it crashes, that job is marked crashed and a new child takes the rest.
 */
export async function inspectAll(jobs: readonly InspectJob[]): Promise<Inspection[]> {
  const results = new Array<Inspection | undefined>(jobs.length)
  const scratch = mkdtempSync(join(tmpdir(), 'azoth-torture-jobs-'))
  let next = 0
  while (next < jobs.length) {
    const offset = next
    const file = join(scratch, `jobs-${offset}.json`)
    writeFileSync(file, JSON.stringify(jobs.slice(offset)))
    const child = spawnTypeScript(INSPECT, [file])
    let current = offset
    let stall = setTimeout(() => kill(child), STALL_MS)
    const ended = await collectLines(child, (line) => {
      clearTimeout(stall)
      stall = setTimeout(() => kill(child), STALL_MS)
      const [word, index] = line.split(' ', 2)
      if (word === 'start') current = offset + Number(index)
      else if (word === 'result') {
        const i = offset + Number(index)
        results[i] = JSON.parse(line.slice(`result ${index} `.length)) as Inspection
        next = i + 1
      }
    })
    clearTimeout(stall)
    if (next < jobs.length && results[current] === undefined) {
      results[current] = { crashed: `exit ${ended.code ?? ended.signal}: ${ended.stderr.slice(-1500)}` }
      next = current + 1
    }
  }
  return results as Inspection[]
}

/** Inspects one database. */
export async function inspect(
  dir: string,
  eventLog: 'lmdb' | 'file',
  backupDir?: string,
): Promise<Inspection> {
  const [result] = await inspectAll([{ dir, eventLog, ...(backupDir === undefined ? {} : { backupDir }) }])
  return result!
}
