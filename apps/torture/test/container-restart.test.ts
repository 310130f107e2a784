// A restarted container: the writer ran as PID 1 of a PID namespace and was killed with it; the next
// container's process is PID 1 again. The directory lock must die with its holder (kernel-held),
// so the new PID 1 opens the database; while the holder lives, a PID 1 elsewhere gets LOCKED.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, expect, it } from 'vitest'
import { Summary } from '../src/summary.js'
import { collectLines, kill } from './support/child-lines.js'
import { runDir } from './support/run-context.js'
import { tempDir } from './support/temp-dir.js'
import { isRoot } from './support/tmpfs.js'

const summary = new Summary()
afterAll(() => summary.writeFragment(runDir(), 'container-restart'))

const FIXTURE = fileURLToPath(new URL('../fixtures/container-writer.ts', import.meta.url))
const TSCONFIG = fileURLToPath(new URL('../../../tsconfig.base.json', import.meta.url))
const TSX = import.meta.resolve('tsx')

function canUnshare(): boolean {
  if (!isRoot) return false
  try {
    execFileSync('unshare', ['--pid', '--fork', 'true'])
    return true
  } catch {
    return false
  }
}

/** The fixture as PID 1 of a new PID namespace; killing `unshare` kills the whole namespace. */
function inContainer(dir: string, mode: 'hold' | 'reopen'): ChildProcess {
  return spawn(
    'unshare',
    ['--pid', '--fork', '--kill-child', process.execPath, '--import', TSX, FIXTURE, dir, mode],
    {
      env: { ...process.env, TSX_TSCONFIG_PATH: TSCONFIG },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
}

// PID namespaces need root (and util-linux's unshare); elsewhere this case cannot be staged.
it.skipIf(!canUnshare())(
  'a new PID 1 reclaims the lock of a killed container (needs root for unshare --pid)',
  async () => {
    const tally = summary.tally('container restart', 'lmdb')
    const dir = join(tempDir(), 'db')
    const acks: number[] = []
    let holderPid = ''
    const holder = inContainer(dir, 'hold')
    const ready = new Promise<void>((resolve) => {
      void collectLines(holder, (line) => {
        if (line.startsWith('ack ')) acks.push(Number(line.split(' ')[1]))
        if (line.startsWith('ready ')) {
          holderPid = line.split(' ')[1]!
          resolve()
        }
      })
    })
    const deadline = setTimeout(() => kill(holder), 60_000)
    await ready
    clearTimeout(deadline)
    expect(holderPid).toBe('1')

    // The holder lives: another container's PID 1 must be refused.
    const rival = await collectLines(inContainer(dir, 'reopen'))
    expect(rival.lines).toContain('error LOCKED')

    kill(holder)
    await new Promise((r) => holder.once('close', r))
    tally.kills++
    tally.faultsInjected++
    const next = await collectLines(inContainer(dir, 'reopen'))
    tally.inputsTried += 2
    expect(next.lines, next.stderr).toContain(`opened 1 ${acks.at(-1)} ${acks.length}`)
    tally.invariantChecks += 3
  },
  120_000,
)
