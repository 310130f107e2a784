// A full disk (a size-limited tmpfs): commits reject with IO / ENOSPC, nothing escapes unhandled,
// nothing hangs, acknowledged data stays, writes resume when space returns, close() finishes.
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { Summary } from '../src/summary.js'
import { runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'
import { isRoot, mountTmpfs } from './support/tmpfs.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'disk-full'))

const FIXTURE = new URL('../fixtures/disk-full.ts', import.meta.url)
const COMBINATIONS = [
  ['lmdb', 'sync'],
  ['lmdb', 'relaxed'],
  ['file', 'sync'],
  ['file', 'relaxed'],
] as const

describe('disk full', () => {
  // Only root can mount the tmpfs that makes a real ENOSPC; a fake one would prove nothing.
  it.skipIf(!isRoot).each(COMBINATIONS)(
    'eventLog %s, durability %s (needs root for tmpfs)',
    async (eventLog, durability) => {
      const tally = summary.tally('disk full', eventLog)
      const mount = join(tempDir(), 'tmpfs')
      const unmount = mountTmpfs(mount, '16m')
      try {
        const run = await runTypeScript(FIXTURE, [mount, eventLog, durability])
        const line = run.stdout.split('\n').find((l) => l.startsWith('result '))
        expect(line, `the child died: exit ${run.code}, ${run.stderr.slice(-1500)}`).toBeDefined()
        const r = JSON.parse(line!.slice('result '.length))
        tally.faultsInjected++
        tally.inputsTried += r.acked + 5
        // Every check, so one run reports everything that is wrong.
        const problems: string[] = [...r.unhandled]
        const full = (f: { code: string; errno?: unknown } | undefined, what: string) => {
          if (f?.code !== 'IO' || f.errno !== 'ENOSPC')
            problems.push(`${what}: ${JSON.stringify(f)}, IO with details.errno ENOSPC due`)
        }
        if (r.acked === 0) problems.push('nothing committed before the disk filled')
        full(r.firstFailure, 'the commit that met the full disk')
        for (const later of r.laterFailures) full(later, 'a later commit on the full disk')
        if (!r.readBack) problems.push('acknowledged values did not read back on the full disk')
        if (r.resumed !== 'ok') problems.push(`no commit once space returned: ${JSON.stringify(r.resumed)}`)
        if (r.closed !== 'ok') problems.push(`close() after the full disk: ${JSON.stringify(r.closed)}`)
        if (!r.reopened.ok || !r.reopened.readBack) {
          tally.lost++
          problems.push(`after reopening: ${JSON.stringify(r.reopened)}`)
        }
        expect(problems).toEqual([])
        tally.invariantChecks += 8
      } finally {
        unmount()
      }
    },
    200_000,
  )
})
