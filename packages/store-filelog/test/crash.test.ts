import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { openFileEventLog } from '../src/index.js'
import { payloadFor, removeDir, tempDir } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))
const stress = process.env['AZOTH_STRESS'] === '1'
const KILLS = stress ? 100 : 8
const dir = tempDir('azoth-filelog-crash-')

afterAll(() => removeDir(dir))

/** Runs the writer until it has printed `syncs` synced ids (or a random moment after), then SIGKILLs it. */
function runAndKill(syncs: number, extraMs: number): Promise<{ synced: number; opened: number }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawnTypeScript(fixture, [dir, String(16 * 1024)])
    const kill = () => child.kill('SIGKILL')
    let out = ''
    let err = ''
    let synced = 0
    let opened = -1
    let seen = 0
    let killTimer: NodeJS.Timeout | undefined
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const lines = out.split('\n')
      out = lines.pop()!
      for (const line of lines) {
        if (line.startsWith('open ')) {
          opened = Number(line.slice(5))
          continue
        }
        synced = Math.max(synced, Number(line))
        seen++
        if (seen === syncs && killTimer === undefined) {
          killTimer = setTimeout(kill, extraMs)
        }
      }
    })
    // 'close' comes once every holder of the pipes (the real writer too) is gone.
    child.on('close', (code, signal) => {
      if (killTimer) clearTimeout(killTimer)
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}/${signal}: ${err}`))
      else resolve({ synced, opened })
    })
  })
}

describe('readers alongside a live writer', () => {
  it('read-only opens and refreshes always see a whole, intact prefix', async () => {
    const liveDir = tempDir('azoth-filelog-live-')
    // A throttled writer (2 ms between batches, at most 10,000 records) so each reader pass is short.
    const child = spawnTypeScript(fixture, [liveDir, String(16 * 1024), '2', '10000'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const exited = new Promise((resolve) => child.on('close', resolve))
    try {
      let synced = 0
      await new Promise<void>((resolve) => {
        child.stdout!.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n')) if (/^\d+$/.test(line)) synced = Number(line)
          if (synced > 0) resolve()
        })
      })
      let lastHead = 0
      for (let i = 0; i < 10; i++) {
        const syncedBefore = synced
        const reader = await openFileEventLog(liveDir, { readOnly: true, segmentBytes: 16 * 1024 })
        expect(reader.head()).toBeGreaterThanOrEqual(syncedBefore) // sees everything synced before
        try {
          for (let r = 0; r < 3; r++) {
            const head = reader.refresh()
            expect(head).toBeGreaterThanOrEqual(lastHead)
            lastHead = head
            let expected = 1
            let wrong = 0
            for (const { id, bytes } of reader.read()) {
              if (id !== expected++ || !Buffer.from(payloadFor(id)).equals(bytes)) wrong++
            }
            expect(wrong).toBe(0)
            expect(expected - 1).toBe(head)
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
        } finally {
          await reader.close()
        }
      }
    } finally {
      child.kill('SIGKILL')
      await exited
      removeDir(liveDir)
    }
  }, 120_000)
})

describe('crash safety', () => {
  it(
    `keeps every synced record across ${KILLS} SIGKILLs at random moments`,
    async () => {
      let lastSynced = 0
      for (let round = 0; round < KILLS; round++) {
        const { synced, opened } = await runAndKill(
          1 + Math.floor(Math.random() * 20),
          Math.floor(Math.random() * 15),
        )
        expect(opened).toBeGreaterThanOrEqual(lastSynced) // the child saw everything synced before
        lastSynced = Math.max(lastSynced, synced)
        const log = await openFileEventLog(dir, { segmentBytes: 16 * 1024 })
        try {
          expect(log.head()).toBeGreaterThanOrEqual(lastSynced)
          let expected = 1
          for (const { id, bytes } of log.read()) {
            expect(id).toBe(expected)
            expect(bytes).toEqual(payloadFor(id))
            expected++
          }
          expect(expected - 1).toBe(log.head())
          // Appends continue at head + 1.
          const next = log.head() + 1
          log.append(next, [payloadFor(next)])
          await log.sync()
          lastSynced = next
          expect(log.get(next)).toEqual(payloadFor(next))
        } finally {
          await log.close()
        }
      }
      const final = await openFileEventLog(dir, { readOnly: true })
      expect(final.verify()).toBe(final.head())
      expect(final.stats().segments).toBeGreaterThan(1)
      await final.close()
    },
    KILLS * 20_000,
  )
})
