import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { acquireProcessLock } from '@azothdb/core/internal'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { expectAzothError } from './helpers.js'
import {
  children,
  holderScript,
  killChildren,
  killed,
  lineReader,
  repoRoot,
  startHolder,
  startHolderInPidNamespace,
} from './lock-holders.js'

const churner = fileURLToPath(new URL('./fixtures/churn-process-lock.ts', import.meta.url))
const RACES = process.env.AZOTH_STRESS === '1' ? 20 : 2
const RACERS = 5
const CHURN_MS = process.env.AZOTH_STRESS === '1' ? 20_000 : 2_000

// `unshare --pid` needs root (or user namespaces) and util-linux; without them the pid-reuse
// tests cannot build their scenario.
const canUnshare =
  process.platform === 'linux' &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { stdio: 'ignore' }).status === 0

let dir: string
let lockPath: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-core-lock-'))
  lockPath = join(dir, 'LOCK')
})

afterEach(() => {
  killChildren()
  rmSync(dir, { recursive: true, force: true })
})

function owner(): unknown {
  return JSON.parse(readFileSync(lockPath, 'utf8'))
}

/** The host pid of the only child of `pid` (the pid-1 process `unshare --fork` started). */
function onlyChildOf(pid: number): number {
  const listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')
  expect(listed).toHaveLength(1)
  return Number(listed[0])
}

describe('acquireProcessLock', () => {
  it('writes the owner, refuses a second lock in the same process, and releases once', () => {
    const lock = acquireProcessLock(lockPath, 'the test directory')
    expect(lock.path).toBe(lockPath)
    expect(owner()).toMatchObject({ pid: process.pid, host: hostname() })
    const e = expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
    expect(e.message).toContain('the test directory')
    expect(e.message).toContain('in this process')
    lock.release()
    expect(existsSync(lockPath)).toBe(false)
    lock.release()
    const again = acquireProcessLock(lockPath, 'the test directory')
    again.release()
    // Nothing but the lock itself was ever left in the directory.
    expect(readdirSync(dir)).toEqual([])
  })

  it('trusts no content: a file left by a crash is locked again whoever it names', () => {
    const left = [
      JSON.stringify({ pid: 2 ** 30, host: hostname() }), // a pid that cannot be alive
      JSON.stringify({ pid: process.ppid, host: hostname() }), // a live pid that holds nothing
      JSON.stringify({ pid: process.pid, host: hostname() }), // our own pid, as after pid reuse
      JSON.stringify({ pid: 1, host: `${hostname()}-other` }), // a recreated container's old name
      '',
      '{"pid":',
    ]
    for (const content of left) {
      writeFileSync(lockPath, content)
      const lock = acquireProcessLock(lockPath, 'dir')
      expect(owner()).toMatchObject({ pid: process.pid, host: hostname() })
      lock.release()
    }
    expect(readdirSync(dir)).toEqual([])
  })

  // A database must reopen on a full disk (to read, or once space is freed elsewhere): the owner
  // written into the file is only a diagnostic, the kernel lock is what excludes other writers.
  it.skipIf(process.getuid?.() !== 0)(
    'takes the lock on a full disk, with an empty file (needs root for tmpfs)',
    () => {
      const mount = mkdtempSync(join(tmpdir(), 'azoth-lock-full-'))
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount], { stdio: 'ignore' })
      try {
        const fill = Buffer.alloc(4096, 1)
        const ballast = join(mount, 'ballast')
        writeFileSync(ballast, '')
        try {
          for (let i = 0; i < 1024; i++) writeFileSync(ballast, fill, { flag: 'a' })
        } catch (e) {
          expect((e as NodeJS.ErrnoException).code).toBe('ENOSPC')
        }
        const path = join(mount, 'LOCK')
        const lock = acquireProcessLock(path, 'the full directory')
        expect(readFileSync(path, 'utf8')).toBe('')
        expectAzothError(() => acquireProcessLock(path, 'the full directory'), 'LOCKED')
        lock.release()
        expect(existsSync(path)).toBe(false)
      } finally {
        spawnSync('umount', ['-l', mount], { stdio: 'ignore' })
        rmSync(mount, { recursive: true, force: true })
      }
    },
  )

  it('raises IO when the lock file cannot be created', () => {
    const e = expectAzothError(() => acquireProcessLock(join(dir, 'missing', 'LOCK'), 'dir'), 'IO')
    expect(e.details).toMatchObject({ errno: 'ENOENT' })
  })

  it('a live process holds the lock against us; after SIGKILL we take it over at once', async () => {
    const first = startHolder(lockPath)
    expect(await first.nextLine()).toBe(`locked ${first.child.pid}`)
    const e = expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
    expect(e.details).toMatchObject({ pid: first.child.pid, host: hostname() })
    expect(e.message).toContain(`process ${first.child.pid}`)
    const second = startHolder(lockPath)
    expect(await second.nextLine()).toBe('error LOCKED')
    await killed(first.child)
    expect(existsSync(lockPath)).toBe(true) // left behind by the crash
    const lock = acquireProcessLock(lockPath, 'the test directory')
    expect(owner()).toMatchObject({ pid: process.pid })
    lock.release()
  }, 60_000)

  it('a child process the holder started does not inherit the lock', async () => {
    const holder = startHolder(lockPath, { withChild: true })
    expect(await holder.nextLine()).toBe(`locked ${holder.child.pid}`)
    const sleeper = Number((await holder.nextLine()).replace('child ', ''))
    try {
      await killed(holder.child)
      process.kill(sleeper, 0) // still alive, with whatever descriptors it inherited
      acquireProcessLock(lockPath, 'the test directory').release()
    } finally {
      process.kill(sleeper, 'SIGKILL')
    }
  }, 60_000)

  it('a killed holder that nobody reaped (a zombie) holds nothing', async () => {
    // The holder's parent is `sleep` (exec'd by sh), which never waits for it: once killed, it
    // stays a zombie that still answers signal 0, but the kernel closed its files.
    const script = `"${process.execPath}" --import tsx "${holderScript}" "${lockPath}" > /dev/null & echo $!; exec sleep 20`
    const shell = spawn('sh', ['-c', script], {
      cwd: repoRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: `${repoRoot}tsconfig.base.json` },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(shell)
    const pid = Number(
      await new Promise<string>((resolve) =>
        shell.stdout!.once('data', (d: Buffer) => resolve(d.toString())),
      ),
    )
    for (let i = 0; i < 200 && !existsSync(lockPath); i++) await new Promise((r) => setTimeout(r, 50))
    for (let i = 0; i < 200 && !readFileSync(lockPath, 'utf8').includes(`${pid}`); i++)
      await new Promise((r) => setTimeout(r, 50))
    expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
    process.kill(pid, 'SIGKILL')
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20))
      try {
        acquireProcessLock(lockPath, 'the test directory').release()
        return
      } catch {
        // Still dying.
      }
    }
    expect.fail('the lock of a killed process never became free')
  }, 60_000)

  it('exactly one of several processes racing for a left-behind lock wins', async () => {
    for (let race = 0; race < RACES; race++) {
      writeFileSync(lockPath, JSON.stringify({ pid: 2 ** 30, host: hostname() }))
      const goFile = join(dir, `go-${race}`)
      const racers = Array.from({ length: RACERS }, () => startHolder(lockPath, { goFile }))
      for (const r of racers) expect(await r.nextLine()).toBe('ready')
      writeFileSync(goFile, '')
      const outcomes = await Promise.all(racers.map((r) => r.nextLine()))
      expect(outcomes.filter((o) => o.startsWith('locked '))).toHaveLength(1)
      expect(outcomes.filter((o) => !o.startsWith('locked ')).every((o) => o === 'error LOCKED')).toBe(true)
      await Promise.all(racers.map((r) => killed(r.child)))
    }
  }, 300_000)

  it('processes taking and releasing the lock in a loop never hold it together', async () => {
    // Each release unlinks the file while a rival may have it open: without the check that the
    // locked file is still the one at the path, the rival and a third process could both hold.
    const churners = Array.from({ length: 3 }, () =>
      lineReader(
        spawnTypeScript(churner, [lockPath, String(CHURN_MS)], { stdio: ['ignore', 'pipe', 'inherit'] }),
      ),
    )
    const outcomes = await Promise.all(churners.map((c) => c.nextLine()))
    for (const o of outcomes) expect(o).toMatch(/^done [1-9]\d*$/)
  }, 120_000)

  describe.skipIf(!canUnshare)('across pid namespaces (containers), where pids are reused', () => {
    it('pid 1 of a new namespace takes the lock that pid 1 of a killed one left', async () => {
      const first = startHolderInPidNamespace(lockPath)
      expect(await first.nextLine()).toBe('locked 1')
      const pid1 = onlyChildOf(first.child.pid!)
      process.kill(pid1, 'SIGKILL')
      await new Promise((resolve) => first.child.on('exit', resolve))
      // The file still names pid 1 on this host: exactly what the new holder will be.
      expect(owner()).toMatchObject({ pid: 1, host: hostname() })
      const second = startHolderInPidNamespace(lockPath)
      expect(await second.nextLine()).toBe('locked 1')
      expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
    }, 60_000)

    it('a live pid 1 of another namespace keeps the lock against a pid 1 and against us', async () => {
      const first = startHolderInPidNamespace(lockPath)
      expect(await first.nextLine()).toBe('locked 1')
      const second = startHolderInPidNamespace(lockPath)
      expect(await second.nextLine()).toBe('error LOCKED')
      const e = expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
      expect(e.message).not.toContain('in this process')
    }, 60_000)
  })
})
