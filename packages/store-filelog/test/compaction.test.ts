import type { ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { type FileEventLog, openFileEventLog } from '../src/index.js'
import { payloadFor, payloads, removeDir, tempDir } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/compacting-writer.ts', import.meta.url))
const stress = process.env['AZOTH_STRESS'] === '1'
const OPTIONS = { segmentBytes: 400 }
const dirs: string[] = []

afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

function newDir(): string {
  const d = tempDir('azoth-filelog-compaction-')
  dirs.push(d)
  return d
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort()
}

/** Every record from oldest to head, checked against its payload; returns the ids read. */
function expectGapless(log: FileEventLog): number[] {
  const ids: number[] = []
  for (const { id, bytes } of log.read()) {
    expect(bytes).toEqual(payloadFor(id))
    ids.push(id)
  }
  const oldest = log.oldest()
  expect(ids).toEqual(Array.from({ length: log.head() - oldest + 1 }, (_, i) => oldest + i))
  return ids
}

describe('the compaction point', () => {
  it('survives reopening; a crash between recording it and deleting is finished by the next open', async () => {
    const dir = newDir()
    const log = await openFileEventLog(dir, OPTIONS)
    log.append(1, payloads(1, 80))
    await log.sync()
    const before = segmentFiles(dir)
    const kept = new Map(before.map((n) => [n, join(dir, `${n}.kept`)]))
    for (const [n, copy] of kept) copyFileSync(join(dir, n), copy)
    const dropped = await log.deleteBefore(40)
    expect(dropped).toBeGreaterThan(0)
    const oldest = log.oldest()
    await log.close()
    // Put the dropped segments back: the state a crash right after recording the point leaves.
    for (const [n, copy] of kept) if (!existsSync(join(dir, n))) copyFileSync(copy, join(dir, n))
    expect(segmentFiles(dir)).toEqual(before)
    const reader = await openFileEventLog(dir, { ...OPTIONS, readOnly: true })
    expect(reader.oldest()).toBe(oldest)
    expectGapless(reader)
    await reader.close()
    expect(segmentFiles(dir)).toEqual(before) // read-only: skipped, not removed
    const again = await openFileEventLog(dir, OPTIONS)
    expect(again.oldest()).toBe(oldest)
    expect(again.head()).toBe(80)
    expect(expectGapless(again)).toHaveLength(80 - oldest + 1)
    expect(segmentFiles(dir).every((n) => Number(n.slice(0, 20)) >= oldest)).toBe(true)
    await again.close()
  })

  it('a log emptied below its oldest id restarts there, also after reopening', async () => {
    const dir = newDir()
    let log = await openFileEventLog(dir, OPTIONS)
    log.append(1, payloads(1, 80))
    await log.deleteBefore(50)
    const oldest = log.oldest()
    await log.truncateAfter(oldest - 10)
    expect(log.oldest()).toBe(oldest - 9)
    await log.close()
    log = await openFileEventLog(dir, OPTIONS)
    expect(log.head()).toBe(oldest - 10)
    log.append(oldest - 9, payloads(oldest - 9, 20))
    expectGapless(log)
    await log.close()
    log = await openFileEventLog(dir, OPTIONS)
    expect(expectGapless(log)).toHaveLength(20)
    await log.close()
  })
})

/** Runs the compacting writer until it printed `lines` lines (plus `extraMs`), then SIGKILLs it. */
function runAndKill(
  dir: string,
  lines: number,
  extraMs: number,
): Promise<{ synced: number; compactedTo: number; opened: [number, number] }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawnTypeScript(fixture, [dir, '60'])
    let out = ''
    let err = ''
    let seen = 0
    let synced = 0
    let compactedTo = 0
    let opened: [number, number] = [0, 0]
    let timer: NodeJS.Timeout | undefined
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const all = out.split('\n')
      out = all.pop()!
      for (const line of all) {
        const [what, a, b] = line.split(' ')
        if (what === 'open') opened = [Number(a), Number(b)]
        if (what === 'synced') synced = Number(a)
        if (what === 'compacted') compactedTo = Number(a)
        if (++seen === lines) timer = setTimeout(() => child.kill('SIGKILL'), extraMs)
      }
    })
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer)
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}/${signal}: ${err}`))
      else resolve({ synced, compactedTo, opened })
    })
  })
}

describe('crash safety of compaction', () => {
  it(
    `keeps every synced record above the compaction point across ${stress ? 60 : 8} SIGKILLs`,
    async () => {
      const dir = newDir()
      let seed = 7
      const random = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed % n
      }
      let lastSynced = 0
      let lastCompacted = 1
      for (let k = 0; k < (stress ? 60 : 8); k++) {
        const run = await runAndKill(dir, 20 + random(60), random(8))
        // The child opened what the previous one left: nothing synced lost, nothing compacted back.
        expect(run.opened[1]).toBeGreaterThanOrEqual(lastSynced)
        expect(run.opened[0]).toBeGreaterThanOrEqual(lastCompacted)
        const log = await openFileEventLog(dir, { segmentBytes: 2048 })
        expect(log.head()).toBeGreaterThanOrEqual(run.synced)
        expect(log.oldest()).toBeGreaterThanOrEqual(run.compactedTo)
        // Compaction never drops more than it was asked to: the newest 60 ids stay.
        expect(log.oldest()).toBeLessThanOrEqual(Math.max(1, log.head() - 60))
        expectGapless(log)
        expect(segmentFiles(dir).every((n) => Number(n.slice(0, 20)) >= log.oldest())).toBe(true)
        expect(existsSync(join(dir, 'COMPACTED.tmp'))).toBe(false)
        lastSynced = log.head()
        lastCompacted = log.oldest()
        await log.close()
      }
      expect(lastCompacted).toBeGreaterThan(1)
    },
    stress ? 600_000 : 120_000,
  )
})
