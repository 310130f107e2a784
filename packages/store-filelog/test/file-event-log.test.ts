import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { type FileEventLog, openFileEventLog } from '../src/index.js'
import { encodeSegmentHeader, segmentFileName } from '../src/segment-format.js'
import { payloadFor, payloads, removeDir, tempDir } from './helpers.js'

const dirs: string[] = []
const logs: FileEventLog[] = []

function newDir(): string {
  const d = tempDir()
  dirs.push(d)
  return d
}

async function open(
  dir: string,
  options: Parameters<typeof openFileEventLog>[1] = {},
): Promise<FileEventLog> {
  const log = await openFileEventLog(dir, options)
  logs.push(log)
  return log
}

afterEach(async () => {
  for (const l of logs.splice(0)) await l.close()
  for (const d of dirs.splice(0)) removeDir(d)
})

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(isAzothError(thrown), String(thrown)).toBe(true)
  expect((thrown as { code: string }).code).toBe(code)
}

async function expectRejects(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(isAzothError(e), String(e)).toBe(true)
  expect((e as { code: string }).code).toBe(code)
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg'))
}

describe('FileEventLog', () => {
  it('starts empty', async () => {
    const log = await open(newDir())
    expect(log.head()).toBe(0)
    expect(log.oldest()).toBe(1)
    expect(log.get(1)).toBeUndefined()
    expect([...log.read()]).toEqual([])
    expect(log.stats()).toMatchObject({ events: 0, segments: 1, oldest: 1, head: 0 })
  })

  it('round-trips across many rotations, get and iteration from every position, before and after reopen', async () => {
    const dir = newDir()
    const options = { segmentBytes: 700, indexIntervalBytes: 100, writeBufferBytes: 256, readChunkBytes: 128 }
    let log = await open(dir, options)
    const n = 240
    for (let id = 1; id <= n; ) {
      const batch = Math.min(1 + (id % 7), n - id + 1)
      log.append(id, payloads(id, batch))
      id += batch
      if (id % 3 === 0) await log.sync()
    }
    const check = (l: FileEventLog) => {
      expect(l.head()).toBe(n)
      expect(l.oldest()).toBe(1)
      for (let id = 1; id <= n; id++) expect(l.get(id)).toEqual(payloadFor(id))
      for (let from = 1; from <= n; from += 1) {
        const got = [...l.read({ from, limit: 5 })]
        expect(got.map((r) => r.id)).toEqual(
          Array.from({ length: Math.min(5, n - from + 1) }, (_, i) => from + i),
        )
        for (const r of got) expect(r.bytes).toEqual(payloadFor(r.id))
      }
      const all = [...l.read()]
      expect(all.length).toBe(n)
      all.forEach((r, i) => {
        expect(r.id).toBe(i + 1)
        expect(r.bytes).toEqual(payloadFor(i + 1))
      })
      expect([...l.read({ from: 50, to: 60 })].map((r) => r.id)).toEqual(
        Array.from({ length: 11 }, (_, i) => 50 + i),
      )
      expect([...l.read({ from: 60, to: 50 })]).toEqual([])
      expect(
        [...l.read({ from: 0, to: Number.POSITIVE_INFINITY, limit: Number.POSITIVE_INFINITY })].length,
      ).toBe(n)
      expect([...l.read({ from: n + 1 })]).toEqual([])
      expect(l.get(0)).toBeUndefined()
      expect(l.get(n + 1)).toBeUndefined()
    }
    check(log) // unsynced tail is served too
    expect(log.stats().segments).toBeGreaterThan(10)
    expect(segmentFiles(dir).length).toBe(log.stats().segments)
    await log.close()
    log = await open(dir, options)
    check(log)
    expect(log.stats().recoveredBytes).toBe(0)
    log.append(n + 1, [payloadFor(n + 1)])
    expect(log.get(n + 1)).toEqual(payloadFor(n + 1))
  })

  it('keeps records that are bigger than the write buffer and the segment size', async () => {
    const dir = newDir()
    let log = await open(dir, { segmentBytes: 256, writeBufferBytes: 128 })
    const big = payloadFor(7, 5000)
    log.append(1, [payloadFor(1), big, payloadFor(3), new Uint8Array(0)])
    expect(log.get(2)).toEqual(big)
    expect(log.get(4)).toEqual(new Uint8Array(0))
    await log.close()
    log = await open(dir, { segmentBytes: 256, writeBufferBytes: 128 })
    expect([...log.read()].map((r) => r.bytes)).toEqual([
      payloadFor(1),
      big,
      payloadFor(3),
      new Uint8Array(0),
    ])
  })

  it('gets every record of an uneven stretch between index entries, each as its own copy', async () => {
    // Tiny records around a large one between two index entries: reads sized from the stretch's
    // mean record fall short of the large one and of the records after it.
    const dir = newDir()
    const sizes = [...Array.from({ length: 40 }, () => 3), 9000, ...Array.from({ length: 40 }, () => 5), 3000]
    const records = sizes.map((size, i) => payloadFor(i + 1, size))
    let log = await open(dir, { indexIntervalBytes: 16_384 })
    log.append(1, records)
    await log.close()
    log = await open(dir, { indexIntervalBytes: 16_384, readOnly: true })
    for (let id = records.length; id >= 1; id--) expect(log.get(id)).toEqual(records[id - 1])
    const first = log.get(41)!
    const second = log.get(41)!
    first.fill(0)
    expect(second).toEqual(records[40])
    expect(log.get(41)).toEqual(records[40])
  })

  it('refuses bad appends and writes nothing', async () => {
    const log = await open(newDir(), { maxRecordBytes: 100 })
    log.append(1, payloads(1, 3))
    expectCode(() => log.append(3, [payloadFor(3)]), 'INVALID_ARGUMENT')
    expectCode(() => log.append(5, [payloadFor(5)]), 'INVALID_ARGUMENT')
    expectCode(() => log.append(0, [payloadFor(0)]), 'INVALID_ARGUMENT')
    expectCode(() => log.append(1.5, []), 'INVALID_ARGUMENT')
    expectCode(() => log.append(4, [payloadFor(4), 'x' as unknown as Uint8Array]), 'INVALID_ARGUMENT')
    expectCode(() => log.append(4, [payloadFor(4), new Uint8Array(101)]), 'EVENT_TOO_LARGE')
    expectCode(() => log.append(4, null as unknown as Uint8Array[]), 'INVALID_ARGUMENT')
    expect(log.head()).toBe(3)
    log.append(4, [])
    expect(log.head()).toBe(3)
    log.append(4, [payloadFor(4)])
    expect([...log.read()].map((r) => r.id)).toEqual([1, 2, 3, 4])
    expectCode(() => log.read({ from: -1 }), 'INVALID_ARGUMENT')
    expectCode(() => log.get(Number.NaN), 'INVALID_ARGUMENT')
  })

  it('checks its options', async () => {
    const dir = newDir()
    await expectRejects(openFileEventLog(dir, { segmentBytes: 1 }), 'CONFIG')
    await expectRejects(openFileEventLog(dir, { bogus: 1 } as never), 'CONFIG')
    await expectRejects(openFileEventLog(dir, { readOnly: 'yes' as never }), 'CONFIG')
    await expectRejects(openFileEventLog(dir, { committedHead: -1 }), 'CONFIG')
    await expectRejects(openFileEventLog(dir, { committedHead: 1.5 }), 'CONFIG')
    await expectRejects(openFileEventLog(join(dir, 'missing'), { readOnly: true }), 'NOT_FOUND')
  })

  it('truncateAfter removes records, also across segments, and appends continue', async () => {
    const dir = newDir()
    const options = { segmentBytes: 300, indexIntervalBytes: 50 }
    let log = await open(dir, options)
    log.append(1, payloads(1, 60))
    await log.sync()
    const before = log.stats().segments
    await log.truncateAfter(25)
    expect(log.head()).toBe(25)
    expect(log.stats().segments).toBeLessThan(before)
    expect(log.get(26)).toBeUndefined()
    expect([...log.read()].length).toBe(25)
    await expectRejects(log.truncateAfter(30), 'INVALID_ARGUMENT')
    await log.truncateAfter(25) // no-op at the head
    log.append(26, payloads(26, 10))
    await log.close()
    log = await open(dir, options)
    expect(log.head()).toBe(35)
    expect([...log.read()].map((r) => r.bytes)).toEqual(payloads(1, 35))
    await log.truncateAfter(0)
    expect(log.head()).toBe(0)
    expect(log.oldest()).toBe(1)
    log.append(1, payloads(1, 2))
    await log.close()
    log = await open(dir, options)
    expect([...log.read()].map((r) => r.id)).toEqual([1, 2])
  })

  it('deleteBefore drops whole old segments only, and truncating below oldest empties the log', async () => {
    const dir = newDir()
    const options = { segmentBytes: 300 }
    let log = await open(dir, options)
    log.append(1, payloads(1, 80))
    await log.sync()
    const segs = log.stats().segments
    expect(await log.deleteBefore(1)).toBe(0)
    const dropped = await log.deleteBefore(30)
    expect(dropped).toBeGreaterThan(0)
    expect(log.oldest()).toBe(dropped + 1)
    expect(log.oldest()).toBeLessThanOrEqual(30)
    expect(log.stats().segments).toBeLessThan(segs)
    expect(log.stats().events).toBe(80 - dropped)
    expect(log.get(dropped)).toBeUndefined()
    expect(log.get(30)).toEqual(payloadFor(30))
    expect([...log.read()][0]?.id).toBe(dropped + 1)
    // Never drops the segment holding the head.
    await log.deleteBefore(1000)
    expect(log.stats().segments).toBe(1)
    expect(log.head()).toBe(80)
    expect(log.get(80)).toEqual(payloadFor(80))
    await log.close()
    log = await open(dir, options)
    expect(log.head()).toBe(80)
    const oldest = log.oldest()
    await log.truncateAfter(oldest - 5)
    expect(log.head()).toBe(oldest - 5)
    expect(log.oldest()).toBe(oldest - 4)
    expect(log.stats().events).toBe(0)
    log.append(oldest - 4, [payloadFor(1)])
    await log.close()
    log = await open(dir, options)
    expect([...log.read()].map((r) => r.id)).toEqual([oldest - 4])
  })

  it('an iterator over a deleted segment reports NOT_FOUND; records read before stay valid', async () => {
    const log = await open(newDir(), { segmentBytes: 200, readChunkBytes: 64 })
    log.append(1, payloads(1, 40))
    const it = log.read()
    const first = it.next().value
    await log.deleteBefore(40)
    let error: unknown
    try {
      for (const _ of it) {
        // drain
      }
    } catch (e) {
      error = e
    }
    expect(isAzothError(error, 'NOT_FOUND')).toBe(true)
    expect(first?.bytes).toEqual(payloadFor(1))
  })

  it('allows one writer per directory and any number of read-only opens', async () => {
    const dir = newDir()
    const writer = await open(dir)
    writer.append(1, payloads(1, 5))
    await writer.sync()
    await expectRejects(openFileEventLog(dir), 'LOCKED')
    const reader = await open(dir, { readOnly: true })
    expect(reader.head()).toBe(5)
    expect(reader.get(3)).toEqual(payloadFor(3))
    expectCode(() => reader.append(6, [payloadFor(6)]), 'INVALID_ARGUMENT')
    await expectRejects(reader.truncateAfter(1), 'INVALID_ARGUMENT')
    await reader.close()
    await writer.close()
    const again = await open(dir)
    expect(again.head()).toBe(5)
  })

  it('a read-only log follows the writer with refresh(), across rotations', async () => {
    const dir = newDir()
    const reader = await open(dir, { readOnly: true })
    expect(reader.refresh()).toBe(0)
    const writer = await open(dir, { segmentBytes: 300 })
    expect(reader.refresh()).toBe(0) // the writer's first segment is still empty
    writer.append(1, payloads(1, 5))
    await writer.flush()
    expect(reader.refresh()).toBe(5)
    expect(reader.get(5)).toEqual(payloadFor(5))
    writer.append(6, payloads(6, 40))
    await writer.sync()
    expect(writer.stats().segments).toBeGreaterThan(3)
    expect(reader.refresh()).toBe(45)
    expect([...reader.read()].map((r) => r.bytes)).toEqual(payloads(1, 45))
    expect(reader.refresh()).toBe(45)
    await writer.truncateAfter(10)
    expectCode(() => reader.refresh(), 'INVALID_ARGUMENT')
  })

  it('a reader opened while the writer creates a segment (no header yet) waits for it, not "truncated"', async () => {
    const dir = newDir()
    let writer = await open(dir, { segmentBytes: 300 })
    writer.append(1, payloads(1, 3))
    await writer.close()
    // The writer's next segment as it is between creating the file and writing its header.
    const next = join(dir, segmentFileName(4))
    writeFileSync(next, '')
    const reader = await open(dir, { readOnly: true })
    expect(reader.head()).toBe(3)
    expect(reader.refresh()).toBe(3)
    writeFileSync(next, encodeSegmentHeader(4).subarray(0, 5)) // half a header
    expect(reader.refresh()).toBe(3)
    // The writer (here: the next one, which completes the header) goes on appending into it.
    writer = await open(dir, { segmentBytes: 300 })
    writer.append(4, payloads(4, 2))
    await writer.sync()
    expect(reader.refresh()).toBe(5)
    expect([...reader.read()].map((r) => r.bytes)).toEqual(payloads(1, 5))
  })

  it('keeps a bounded number of segment files open, however many segments there are', async () => {
    const dir = newDir()
    const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0)
    const baseline = openFds()
    const options = { segmentBytes: 200, maxOpenSegments: 2 }
    let log = await open(dir, options)
    for (let id = 1; id <= 300; id += 10) {
      log.append(id, payloads(id, 10))
      await log.sync()
    }
    expect(log.stats().segments).toBeGreaterThan(50)
    expect(openFds() - baseline).toBeLessThanOrEqual(4)
    await log.close()
    log = await open(dir, options)
    expect([...log.read()].map((r) => r.bytes)).toEqual(payloads(1, 300))
    for (let i = 0; i < 300; i++) {
      const id = 1 + ((i * 97) % 300)
      expect(log.get(id)).toEqual(payloadFor(id))
    }
    expect(openFds() - baseline).toBeLessThanOrEqual(4)
    // Interleaved iterators over different segments survive each other's evictions.
    const a = log.read({ from: 1 })
    const b = log.read({ from: 150 })
    const c = log.read({ from: 280 })
    for (let i = 0; i < 20; i++) {
      expect(a.next().value?.id).toBe(1 + i)
      expect(b.next().value?.id).toBe(150 + i)
      expect(c.next().value?.id).toBe(280 + i)
    }
    await log.truncateAfter(42) // a sealed, closed segment becomes the active one
    log.append(43, payloads(43, 5))
    await log.close()
    log = await open(dir, options)
    expect([...log.read()].map((r) => r.bytes)).toEqual(payloads(1, 47))
  })

  it('takes over a lock left by a dead process', async () => {
    const dir = newDir()
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
    const deadPid = Number(child.stdout.toString())
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: deadPid, host: hostname() }))
    const log = await open(dir)
    log.append(1, [payloadFor(1)])
    expect(log.head()).toBe(1)
  })

  it('refuses calls after close with CLOSED', async () => {
    const log = await openFileEventLog(newDir())
    log.append(1, [payloadFor(1)])
    await log.close()
    await log.close()
    expectCode(() => log.append(2, [payloadFor(2)]), 'CLOSED')
    expectCode(() => log.get(1), 'CLOSED')
    expectCode(() => log.read(), 'CLOSED')
    await expectRejects(log.sync(), 'CLOSED')
  })

  it('a read-only open of an empty directory is an empty log', async () => {
    const log = await open(newDir(), { readOnly: true })
    expect(log.head()).toBe(0)
    expect([...log.read()]).toEqual([])
    expect(log.stats()).toMatchObject({ events: 0, segments: 0 })
  })

  it('concurrent syncs all resolve and the data is durable', async () => {
    const dir = newDir()
    let log = await open(dir)
    const waits: Promise<void>[] = []
    for (let i = 0; i < 20; i++) {
      log.append(i * 10 + 1, payloads(i * 10 + 1, 10))
      waits.push(log.sync())
    }
    await Promise.all(waits)
    await log.close()
    log = await open(dir)
    expect(log.verify()).toBe(200)
  })
})
