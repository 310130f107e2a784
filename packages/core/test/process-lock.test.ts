import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { acquireProcessLock } from '@azothdb/core/internal'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { expectAzothError } from './helpers.js'

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const holder = fileURLToPath(new URL('./fixtures/hold-process-lock.ts', import.meta.url))
const RACES = process.env.AZOTH_STRESS === '1' ? 20 : 2
const RACERS = 5

let dir: string
let lockPath: string
const children: ChildProcess[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-core-lock-'))
  lockPath = join(dir, 'LOCK')
})

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** A child that prints lines: `ready` (with a go file), then `locked` or `error <CODE>`. */
interface Holder {
  readonly child: ChildProcess
  nextLine(): Promise<string>
}

function startHolder(goFile?: string): Holder {
  const child = spawnTypeScript(holder, [lockPath, ...(goFile === undefined ? [] : [goFile])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  const lines: string[] = []
  const waiting: ((line: string) => void)[] = []
  let buffered = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl)
      buffered = buffered.slice(nl + 1)
      const w = waiting.shift()
      if (w) w(line)
      else lines.push(line)
    }
  })
  const exited = new Promise<string>((resolve) =>
    child.on('exit', (code, signal) => resolve(`exited ${code ?? signal}`)),
  )
  return {
    child,
    nextLine: () => {
      const line = lines.shift()
      if (line !== undefined) return Promise.resolve(line)
      return Promise.race([new Promise<string>((resolve) => waiting.push(resolve)), exited])
    },
  }
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

describe('acquireProcessLock', () => {
  it('writes the owner, refuses a second lock in the same process, and releases once', () => {
    const lock = acquireProcessLock(lockPath, 'the test directory')
    expect(lock.path).toBe(lockPath)
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() })
    const e = expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
    expect(e.message).toContain('the test directory')
    lock.release()
    expect(existsSync(lockPath)).toBe(false)
    lock.release()
    const again = acquireProcessLock(lockPath, 'the test directory')
    again.release()
    // Nothing but the lock itself was ever left in the directory.
    expect(readdirSync(dir)).toEqual([])
  })

  it('does not remove a lock file that another owner has taken since', () => {
    const lock = acquireProcessLock(lockPath, 'dir')
    writeFileSync(lockPath, JSON.stringify({ pid: process.pid + 1, host: 'elsewhere' }))
    lock.release()
    expect(existsSync(lockPath)).toBe(true)
  })

  it('never breaks a lock of another host', () => {
    writeFileSync(lockPath, JSON.stringify({ pid: 1, host: `${hostname()}-other` }))
    const e = expectAzothError(() => acquireProcessLock(lockPath, 'dir'), 'LOCKED')
    expect(e.details).toMatchObject({ pid: 1 })
  })

  it('takes over a lock left by a dead process, or an unreadable one', () => {
    // A pid beyond the kernel's pid_max never belongs to a live process.
    writeFileSync(lockPath, JSON.stringify({ pid: 2 ** 30, host: hostname() }))
    acquireProcessLock(lockPath, 'dir').release()
    writeFileSync(lockPath, '')
    acquireProcessLock(lockPath, 'dir').release()
    writeFileSync(lockPath, '{"pid":')
    acquireProcessLock(lockPath, 'dir').release()
    expect(readdirSync(dir)).toEqual([])
  })

  it('raises IO when the lock file cannot be created', () => {
    expectAzothError(() => acquireProcessLock(join(dir, 'missing', 'LOCK'), 'dir'), 'IO')
  })

  it('a live process holds the lock against us; after SIGKILL we take it over', async () => {
    const first = startHolder()
    expect(await first.nextLine()).toBe('locked')
    const e = expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
    expect(e.details).toMatchObject({ pid: first.child.pid })
    const second = startHolder()
    expect(await second.nextLine()).toBe('error LOCKED')
    await killed(first.child)
    expect(existsSync(lockPath)).toBe(true) // left behind by the crash
    const lock = acquireProcessLock(lockPath, 'the test directory')
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid })
    lock.release()
  }, 60_000)

  // Zombies are recognised through /proc, which only Linux has; elsewhere they count as alive.
  it.skipIf(process.platform !== 'linux')(
    'takes over the lock of a killed process that nobody reaped (a zombie)',
    async () => {
      // The holder's parent is `sleep` (exec'd by sh), which never waits for it: once killed, it
      // stays a zombie that still answers signal 0.
      const script = `"${process.execPath}" --import tsx "${holder}" "${lockPath}" > /dev/null & echo $!; exec sleep 20`
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
      expectAzothError(() => acquireProcessLock(lockPath, 'the test directory'), 'LOCKED')
      process.kill(pid, 'SIGKILL')
      let stat = ''
      for (let i = 0; i < 100 && !/\) Z /.test(stat); i++) {
        await new Promise((r) => setTimeout(r, 20))
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      }
      expect(stat).toMatch(/\) Z /)
      const lock = acquireProcessLock(lockPath, 'the test directory')
      expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid })
      lock.release()
    },
    60_000,
  )

  it('exactly one of several processes racing for a stale lock wins', async () => {
    for (let race = 0; race < RACES; race++) {
      writeFileSync(lockPath, JSON.stringify({ pid: 2 ** 30, host: hostname() }))
      const goFile = join(dir, `go-${race}`)
      const racers = Array.from({ length: RACERS }, () => startHolder(goFile))
      for (const r of racers) expect(await r.nextLine()).toBe('ready')
      writeFileSync(goFile, '')
      const outcomes = await Promise.all(racers.map((r) => r.nextLine()))
      expect(outcomes.filter((o) => o === 'locked')).toHaveLength(1)
      expect(outcomes.filter((o) => o !== 'locked').every((o) => o === 'error LOCKED')).toBe(true)
      await Promise.all(racers.map((r) => killed(r.child)))
    }
  }, 300_000)
})
