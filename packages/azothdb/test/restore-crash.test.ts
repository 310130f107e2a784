import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Azoth, isAzothError, TypedValue } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { exited, spawnTypeScript } from '../../../vitest.shared.js'
import { tempDir } from './support/temp-dir.js'

const ROUNDS = process.env.AZOTH_STRESS ? 20 : 5

/** A backup big enough that copying and checking it takes a while (about 12 MiB of state). */
async function makeBackup(eventLog: 'lmdb' | 'file') {
  const backupDir = join(tempDir(), 'backup')
  await using db = await Azoth.open(tempDir(), { eventLog })
  const blob = new Uint8Array(64 * 1024).map((_, i) => i % 251)
  for (let batch = 0; batch < 8; batch++) {
    const w = db.writeBatch()
    for (let i = 0; i < 24; i++)
      w.put(`blob/${batch}/${i}`, TypedValue.bytes(blob)).appendEvent('put', { batch, i })
    await w.commit()
  }
  const manifest = await db.backupTo(backupDir)
  return { backupDir, manifest, digest: db.stateDigest(), head: db.head() }
}

/** Runs the restore child; kills it `killAfterMs` after it is ready (never, when undefined). */
async function runRestore(
  backupDir: string,
  target: string,
  killAfterMs: number | undefined,
): Promise<{ done: boolean; ms: number }> {
  const child = spawnTypeScript(new URL('./fixtures/restore-child.ts', import.meta.url), [backupDir, target])
  let stdout = ''
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString()
    if (killAfterMs !== undefined && stdout === 'ready\n')
      setTimeout(() => child.kill('SIGKILL'), killAfterMs)
  })
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  await exited(child)
  const done = /done (\d+)/.exec(stdout)
  if (outcome.signal !== 'SIGKILL' && (outcome.code !== 0 || !done))
    throw new Error(`restore child failed (${outcome.code}): ${stderr}`)
  return { done: done !== null, ms: done ? Number(done[1]) : 0 }
}

/**
 * What a killed restore left at the target: nothing that opens (`'none'`), or, when the kill came
 * after the final rename, the whole database (`'complete'`: the backup's head and digest).
 */
async function inspectTarget(target: string, expected: { head: number; digest: string }) {
  let db: Azoth
  try {
    db = await Azoth.open(target, { create: false })
  } catch (e) {
    expect(isAzothError(e) ? e.code : String(e)).toBe('NOT_FOUND')
    if (existsSync(target)) expect(readdirSync(target)).toEqual([])
    return 'none'
  }
  await using _ = db
  expect({ head: db.head(), digest: db.stateDigest() }).toEqual(expected)
  return 'complete'
}

describe.each(['lmdb', 'file'] as const)('restore killed mid-way (eventLog %s)', (eventLog) => {
  it(`SIGKILL at random points of restoreFrom leaves nothing that opens; a rerun restores (${ROUNDS} rounds)`, async () => {
    const { backupDir, digest, head } = await makeBackup(eventLog)
    // How long a whole restore takes here: kills are spread over that span.
    const calibration = await runRestore(backupDir, join(tempDir(), 'calibration'), undefined)
    expect(calibration.done).toBe(true)
    const killed: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const target = join(tempDir(), 'restored')
      const killAfter = Math.floor(Math.random() * calibration.ms * 0.9)
      const { done } = await runRestore(backupDir, target, killAfter)
      if (!done && (await inspectTarget(target, { head, digest })) === 'none') {
        killed.push(killAfter)
        // The rerun succeeds and removes what the killed restore left beside the target.
        await using db = await Azoth.restoreFrom(backupDir, target)
        expect({ head: db.head(), digest: db.stateDigest() }).toEqual({ head, digest })
        expect(readdirSync(dirname(target)).filter((n) => n.includes('restoring'))).toEqual([])
        await db
          .transaction()
          .keys(['after'])
          .execute((tx) => {
            tx.set('after', 1n)
            tx.log('after-restore')
          })
        expect(db.head()).toBe(head + 1)
      } else {
        await using db = await Azoth.open(target, { create: false })
        expect({ head: db.head(), digest: db.stateDigest() }).toEqual({ head, digest })
      }
    }
    // Some rounds must really have been interrupted before the rename, or the test proves nothing.
    if (process.env.AZOTH_TEST_VERBOSE) console.log(`calibration ${calibration.ms} ms, killed at ${killed}`)
    expect(killed.length).toBeGreaterThan(0)
  }, 180_000)
})
