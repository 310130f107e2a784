// A database on a read-only file system: a writable open fails with a code (and writes nothing),
// a read-only open reads exactly the data or fails with a code; never a crash or a raw error.
import { chmodSync, cpSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Summary } from '../src/summary.js'
import { inspect } from './support/inspect-child.js'
import { buildReferenceLedger } from './support/reference-ledger.js'
import { prngFor, runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'
import { isRoot, mountTmpfs, remountReadOnly } from './support/tmpfs.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'read-only-directory'))

/** Write permission off everywhere below `dir` (for a non-root user; root ignores modes). */
function makeReadOnly(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) makeReadOnly(path)
    else chmodSync(path, 0o444)
  }
  chmodSync(dir, 0o555)
}

describe.each(['lmdb', 'file'] as const)('read-only directory (eventLog %s)', (eventLog) => {
  it('refuses writable opens with a code and reads the right data or says why not', async () => {
    const tally = summary.tally('read-only directory', eventLog)
    const root = tempDir()
    const random = prngFor(`read-only-${eventLog}`)
    await buildReferenceLedger(join(root, 'db'), join(root, 'backup'), eventLog, random, 60)
    const reference = await inspect(join(root, 'db'), eventLog)
    expect(reference.writable?.ok).toBe(true)
    const mount = join(root, 'ro')
    // As root, only a read-only mount refuses writes (EROFS); file modes do for anyone else.
    const unmount = isRoot ? mountTmpfs(mount, '32m') : () => {}
    try {
      cpSync(join(root, 'db'), join(mount, 'db'), { recursive: true })
      if (isRoot) remountReadOnly(mount)
      else makeReadOnly(join(mount, 'db'))
      tally.faultsInjected++
      const seen = await inspect(join(mount, 'db'), eventLog)
      tally.inputsTried += 2
      expect(seen.crashed).toBeUndefined()
      const problems: string[] = []
      if (seen.writable?.ok !== false) problems.push('a writable open succeeded on a read-only directory')
      else if (seen.writable.code === 'RAW')
        problems.push(`writable open: raw error ${seen.writable.message}`)
      if (seen.readOnly?.ok === true) {
        if (
          JSON.stringify(seen.readOnly.view) !==
          JSON.stringify(reference.writable?.ok && reference.writable.view)
        ) {
          tally.lost++
          problems.push('read-only open: WRONG ANSWER')
        }
      } else if (seen.readOnly?.code === 'RAW')
        problems.push(`read-only open: raw error ${seen.readOnly.message}`)
      expect(problems).toEqual([])
      tally.invariantChecks += 2
    } finally {
      unmount()
    }
  }, 120_000)
})
