import { spawnTypeScript } from '../../../../vitest.shared.js'
import type { Attempt } from '../../src/database-view.js'
import { collectLines, kill } from './child-lines.js'

const INSPECT = new URL('../../fixtures/inspect.ts', import.meta.url)

/** An attempt and, when it failed, the files it changed all the same. */
export type CheckedAttempt = Attempt & { readonly changed: readonly string[] }

/** What the inspecting child saw, or how it died (a crash is never an acceptable answer). */
export interface Inspection {
  readonly restore?: CheckedAttempt
  readonly readOnly?: CheckedAttempt
  readonly writable?: CheckedAttempt
  /** Set when the child printed no result: its exit code or signal and the end of its stderr. */
  readonly crashed?: string
}

/** Runs the inspect fixture on `dir` (restoring `backupDir` into it first when given), with a deadline. */
export async function inspect(
  dir: string,
  eventLog: 'lmdb' | 'file',
  backupDir?: string,
): Promise<Inspection> {
  const child = spawnTypeScript(INSPECT, [dir, eventLog, ...(backupDir === undefined ? [] : [backupDir])])
  const deadline = setTimeout(() => kill(child), 60_000)
  const outcome = await collectLines(child)
  clearTimeout(deadline)
  const line = outcome.lines.find((l) => l.startsWith('result '))
  if (line === undefined) {
    return { crashed: `exit ${outcome.code ?? outcome.signal}: ${outcome.stderr.slice(-1500)}` }
  }
  return JSON.parse(line.slice('result '.length)) as Inspection
}
