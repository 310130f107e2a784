import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isAzothError } from '@azothdb/core'
import { afterAll, describe, expect, it } from 'vitest'
import { runTypeScript } from '../../../vitest.shared.js'
import { openFileEventLog } from '../src/index.js'
import { payloadFor } from './helpers.js'
import { type DiskFullOutcome, fillDisk, mountTmpfs, runDiskFull } from './support/disk-full.js'

const tmpfs = mountTmpfs(1024)
const skip = 'skip' in tmpfs ? tmpfs.skip : undefined
const fixture = fileURLToPath(new URL('./fixtures/disk-full-child.ts', import.meta.url))

afterAll(() => {
  if (!('skip' in tmpfs)) tmpfs.unmount()
})

/** A fresh, empty directory on the tmpfs (the previous case's files removed). */
function onTmpfs(name: string): string {
  if ('skip' in tmpfs) throw new Error(tmpfs.skip)
  for (const entry of readdirSync(tmpfs.dir)) rmSync(join(tmpfs.dir, entry), { recursive: true, force: true })
  const dir = join(tmpfs.dir, name)
  mkdirSync(dir)
  return dir
}

function expectRecovered(outcome: DiskFullOutcome): void {
  expect(outcome.failures).toBeGreaterThanOrEqual(6)
  expect(new Set(outcome.errnos)).toEqual(new Set(['ENOSPC']))
  // While the disk was full the files held exactly the acknowledged records, nothing torn.
  const whenFull = outcome.acknowledgedWhenFull
  expect(outcome.whileFull).toEqual({ head: whenFull, recoveredBytes: 0, verified: whenFull })
  expect(outcome.acknowledged).toBeGreaterThanOrEqual(whenFull + 400)
  expect(outcome.finalHead).toBe(outcome.acknowledged)
}

// Skipped only where a tmpfs cannot be mounted (not root): the reason is in `skip`.
describe.skipIf(skip !== undefined)(`a full disk${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it.each(['sync', 'flush'] as const)(
    'appends fail with IO/ENOSPC, roll back, and resume once space is freed (%s)',
    async (durability) => {
      const dir = onTmpfs(durability)
      expectRecovered(await runDiskFull(dir, durability))
    },
    60_000,
  )

  it.each(['sync', 'flush'] as const)(
    'in a child process: no unhandled rejection, clean exit (%s)',
    async (durability) => {
      const dir = onTmpfs(`child-${durability}`)
      const run = await runTypeScript(fixture, [dir, durability])
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expectRecovered(JSON.parse(run.stdout) as DiskFullOutcome)
    },
    60_000,
  )

  it('a failed flush keeps what was appended: the next flush after space returns writes it', async () => {
    const dir = onTmpfs('keep')
    const options = { writeBufferBytes: 64 * 1024 }
    const log = await openFileEventLog(dir, options)
    log.append(1, [payloadFor(1, 5000)])
    await log.sync()
    const ballast = fillDisk(dir, 0)
    log.append(2, [payloadFor(2, 9000), payloadFor(3, 9000)])
    for (const attempt of [log.flush(), log.sync()]) {
      const e = await attempt.then(
        () => undefined,
        (err: unknown) => err,
      )
      expect(isAzothError(e, 'IO')).toBe(true)
      expect((e as { details: Record<string, unknown> }).details['errno']).toBe('ENOSPC')
    }
    expect(log.head()).toBe(3)
    expect(log.stats().failedWrites).toBe(2)
    rmSync(ballast)
    await log.sync()
    expect(log.get(3)).toEqual(payloadFor(3, 9000))
    await log.close()
    const again = await openFileEventLog(dir, options)
    expect([...again.read()].map((r) => r.bytes)).toEqual([
      payloadFor(1, 5000),
      payloadFor(2, 9000),
      payloadFor(3, 9000),
    ])
    expect(again.stats().recoveredBytes).toBe(0)
    await again.close()
  })

  it('close() finishes on a full disk; the log reopens with every flushed record', async () => {
    const dir = onTmpfs('close')
    const options = { writeBufferBytes: 64 * 1024 }
    const log = await openFileEventLog(dir, options)
    const ballast = fillDisk(dir, 0)
    // Buffered only, more than the page the header took: close must write them, and cannot.
    log.append(1, [new Uint8Array(10_000), new Uint8Array(20_000)])
    const closed = await log.close().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isAzothError(closed, 'IO')).toBe(true)
    expect((closed as { details: Record<string, unknown> }).details['errno']).toBe('ENOSPC')
    rmSync(ballast)
    const again = await openFileEventLog(dir, options) // the lock was released
    expect(again.head()).toBe(0)
    expect(again.stats().recoveredBytes).toBe(0)
    again.append(1, [new Uint8Array(3)])
    await again.close()
  })
})
