import { fileURLToPath } from 'node:url'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { spawnTypeScript } from '../../../vitest.shared.js'
import { type FileEventLog, openFileEventLog } from '../src/index.js'
import { payloadFor, payloads, removeDir, tempDir } from './helpers.js'

const fixture = fileURLToPath(new URL('./fixtures/following-reader.ts', import.meta.url))
const dirs: string[] = []
const logs: FileEventLog[] = []

afterEach(async () => {
  for (const l of logs.splice(0)) await l.close()
  for (const d of dirs.splice(0)) removeDir(d)
})

async function open(
  dir: string,
  options: Parameters<typeof openFileEventLog>[1] = {},
): Promise<FileEventLog> {
  const log = await openFileEventLog(dir, options)
  logs.push(log)
  return log
}

function ids(log: FileEventLog, from = 1): number[] {
  return [...log.read({ from })].map((r) => r.id)
}

describe('read-only readers while the writer compacts', () => {
  it('in the same process: reads above the compaction point go on, below it they answer as the writer does', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const writer = await open(dir, { segmentBytes: 400 })
    writer.append(1, payloads(1, 40))
    await writer.sync()
    const reader = await open(dir, { readOnly: true })
    writer.append(41, payloads(41, 40))
    await writer.sync()
    await writer.deleteBefore(30)
    // Before any refresh: the reader's own head (40), from the writer's new oldest.
    expect(ids(reader)).toEqual(ids(writer).filter((id) => id <= 40))
    expect(reader.get(1)).toBe(writer.get(1))
    expect(reader.get(1)).toBeUndefined()
    expect(reader.get(35)).toEqual(payloadFor(35))
    expect(reader.refresh()).toBe(80)
    expect(reader.oldest()).toBe(writer.oldest())
    expect(ids(reader, 1)).toEqual(ids(writer, 1))
    // The writer compacts past everything this reader knew of.
    writer.append(81, payloads(81, 80))
    await writer.sync()
    await writer.deleteBefore(150)
    expect(reader.refresh()).toBe(160)
    expect(reader.oldest()).toBe(writer.oldest())
    expect(reader.stats()).toMatchObject({
      oldest: writer.oldest(),
      head: 160,
      events: 160 - writer.oldest() + 1,
    })
    expect([...reader.read({ from: 2 })].map((r) => r.bytes)).toEqual([...writer.read()].map((r) => r.bytes))
    // A cut below what the reader saw is still a truncation.
    await writer.truncateAfter(155)
    let error: unknown
    try {
      reader.refresh()
    } catch (e) {
      error = e
    }
    expect(isAzothError(error, 'INVALID_ARGUMENT')).toBe(true)
  })

  it('in another process: every refresh and read succeeds while the writer appends and compacts', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const writer = await open(dir, { segmentBytes: 1024, writeBufferBytes: 512 })
    writer.append(1, payloads(1, 50))
    await writer.sync()
    const target = 3000
    const child = spawnTypeScript(fixture, [dir, String(target)])
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    let exited = false
    const exit = new Promise<number | null>((resolve) =>
      child.on('close', (code) => {
        exited = true
        resolve(code)
      }),
    )
    let compactions = 0
    while (!exited) {
      if (writer.head() < target + 500) {
        const first = writer.head() + 1
        writer.append(first, payloads(first, 1 + (first % 9)))
        await writer.sync()
        if (first % 5 === 0 && writer.head() > 200) {
          if ((await writer.deleteBefore(writer.head() - 150)) > 0) compactions++
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    const code = await exit
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const summary = JSON.parse(stdout) as { passes: number; raced: number; oldest: number; head: number }
    expect(compactions).toBeGreaterThan(10)
    expect(summary.passes).toBeGreaterThan(0)
    expect(summary.head).toBeGreaterThanOrEqual(target)
    expect(summary.oldest).toBeGreaterThan(1)
  }, 90_000)
})
