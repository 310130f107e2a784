// The fallback for platforms where the kernel lock addon does not load. It is not reachable
// through the public entry on a platform where the addon loads (as here), hence the direct import.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { acquirePidFileLock } from '../src/pid-file-lock.js'
import { expectAzothError } from './helpers.js'
import { killChildren, killed, startHolder } from './lock-holders.js'

const RACES = process.env.AZOTH_STRESS === '1' ? 20 : 2
const RACERS = 5

let dir: string
let lockPath: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-core-pidlock-'))
  lockPath = join(dir, 'LOCK')
})

afterEach(() => {
  killChildren()
  rmSync(dir, { recursive: true, force: true })
})

describe('acquirePidFileLock (fallback without kernel locks)', () => {
  it('writes the owner, refuses a second lock in the same process, and releases once', () => {
    const lock = acquirePidFileLock(lockPath, 'the test directory')
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() })
    expectAzothError(() => acquirePidFileLock(lockPath, 'the test directory'), 'LOCKED')
    lock.release()
    expect(existsSync(lockPath)).toBe(false)
    lock.release()
    acquirePidFileLock(lockPath, 'the test directory').release()
    expect(readdirSync(dir)).toEqual([])
  })

  it('does not remove a lock file that another owner has taken since', () => {
    const lock = acquirePidFileLock(lockPath, 'dir')
    writeFileSync(lockPath, JSON.stringify({ pid: process.pid + 1, host: 'elsewhere' }))
    lock.release()
    expect(existsSync(lockPath)).toBe(true)
  })

  it('never breaks a lock of another host', () => {
    writeFileSync(lockPath, JSON.stringify({ pid: 1, host: `${hostname()}-other` }))
    const e = expectAzothError(() => acquirePidFileLock(lockPath, 'dir'), 'LOCKED')
    expect(e.details).toMatchObject({ pid: 1 })
  })

  it('takes over a lock left by a dead process, or an unreadable one', () => {
    // A pid beyond the kernel's pid_max never belongs to a live process.
    writeFileSync(lockPath, JSON.stringify({ pid: 2 ** 30, host: hostname() }))
    acquirePidFileLock(lockPath, 'dir').release()
    writeFileSync(lockPath, '')
    acquirePidFileLock(lockPath, 'dir').release()
    writeFileSync(lockPath, '{"pid":')
    acquirePidFileLock(lockPath, 'dir').release()
    expect(readdirSync(dir)).toEqual([])
  })

  it('raises IO when the lock file cannot be created', () => {
    expectAzothError(() => acquirePidFileLock(join(dir, 'missing', 'LOCK'), 'dir'), 'IO')
  })

  it('honours a kernel-lock holder, which names its live pid in the file', async () => {
    const holder = startHolder(lockPath)
    expect(await holder.nextLine()).toBe(`locked ${holder.child.pid}`)
    expectAzothError(() => acquirePidFileLock(lockPath, 'dir'), 'LOCKED')
    await killed(holder.child)
    acquirePidFileLock(lockPath, 'dir').release()
  }, 60_000)

  it('exactly one of several processes racing for a stale lock wins', async () => {
    for (let race = 0; race < RACES; race++) {
      writeFileSync(lockPath, JSON.stringify({ pid: 2 ** 30, host: hostname() }))
      const goFile = join(dir, `go-${race}`)
      const racers = Array.from({ length: RACERS }, () =>
        startHolder(lockPath, { goFile, protocol: 'pid-file' }),
      )
      for (const r of racers) expect(await r.nextLine()).toBe('ready')
      writeFileSync(goFile, '')
      const outcomes = await Promise.all(racers.map((r) => r.nextLine()))
      expect(outcomes.filter((o) => o.startsWith('locked '))).toHaveLength(1)
      expect(outcomes.filter((o) => !o.startsWith('locked ')).every((o) => o === 'error LOCKED')).toBe(true)
      await Promise.all(racers.map((r) => killed(r.child)))
    }
  }, 300_000)
})
