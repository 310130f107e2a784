import { cpSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { type FileEventLog, openFileEventLog } from '../src/index.js'
import { payloadFor, payloads, removeDir, tempDir } from './helpers.js'
import { type FaultOp, FaultyFileSystem } from './support/faulty-file-system.js'
import { expectIo, openWith, rejection, thrown } from './support/injected.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

function newDir(): string {
  const dir = tempDir()
  dirs.push(dir)
  return dir
}

const isSegment = (path: string): boolean => path.endsWith('.seg')

/** Every file of `dir` with its size: what an open must leave as it was when it fails. */
function files(dir: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const f of readdirSync(dir).sort()) out[f] = statSync(join(dir, f)).size
  return out
}

/** Every record of `log`, copied. */
function all(log: FileEventLog): Uint8Array[] {
  return [...log.read()].map((r) => new Uint8Array(r.bytes))
}

/** `got` are exactly the records `firstId`... (compared bytewise: deep equality of 20,000 arrays is slow). */
function expectRecords(got: readonly Uint8Array[], firstId: number, count: number): void {
  expect(got.length).toBe(count)
  const firstWrong = got.findIndex((b, i) => !Buffer.from(b).equals(payloadFor(firstId + i)))
  expect(firstWrong).toBe(-1)
}

function fileOf(e: unknown): string {
  return String((e as { details: Record<string, unknown> }).details['file'])
}

/** Bytes in the segment files of `dir`. */
function segmentBytes(dir: string): number {
  let n = 0
  for (const f of readdirSync(dir)) if (isSegment(f)) n += statSync(join(dir, f)).size
  return n
}

/**
 * A closed log of `count` records in segments of `segmentBytes` (small by default: most are
 * sealed), written with node:fs. Without `sidecars`, the index sidecars are removed: an open then
 * reads every record.
 */
async function writtenLog(count: number, sidecars: boolean, segmentBytes = 4096): Promise<string> {
  const dir = newDir()
  const log = await openFileEventLog(dir, { segmentBytes })
  log.append(1, payloads(1, count))
  await log.sync()
  await log.close()
  if (!sidecars) for (const f of readdirSync(dir)) if (f.endsWith('.idx')) rmSync(join(dir, f))
  return dir
}

describe('injected read failures in the file log', () => {
  it('EIO during a long read() is IO naming the segment, after an exact prefix; once it clears every record reads back', async () => {
    // 20,000 records: long enough that reads would go ahead on the worker thread, which must not
    // happen with a file layer of its own (the worker's reads would bypass it).
    const dir = await writtenLog(20_000, true, 256 * 1024)
    const fs = new FaultyFileSystem()
    const log = await openWith(dir, fs, { segmentBytes: 256 * 1024, readChunkBytes: 16 * 1024 })
    // Every byte is read through the file layer: 16 KiB at most per call, so at least this many.
    for (let pass = 0; pass < 3; pass++) {
      const reads = fs.calls.read
      expectRecords(all(log), 1, 20_000)
      expect(fs.calls.read - reads).toBeGreaterThanOrEqual(segmentBytes(dir) / (16 * 1024))
    }
    fs.failOn('read', 'EIO', { skip: 40 })
    const got: Uint8Array[] = []
    const e = thrown(() => {
      for (const r of log.read()) got.push(new Uint8Array(r.bytes))
    })
    expectIo(e, 'EIO')
    expect(isSegment(fileOf(e))).toBe(true)
    expect(got.length).toBeGreaterThan(0)
    expect(got.length).toBeLessThan(20_000)
    expectRecords(got, 1, got.length)
    // While the disk fails, nothing counts short: verify() fails too.
    expectIo(
      thrown(() => log.verify()),
      'EIO',
    )
    fs.clear()
    expectRecords(all(log), 1, 20_000)
    expect(log.verify()).toBe(20_000)
    // Reads failing broke nothing: the log still writes.
    log.append(20_001, payloads(20_001, 5))
    await log.sync()
    await log.close()
    const again = await openFileEventLog(dir)
    expectRecords(all(again), 1, 20_005)
    await again.close()
  })

  it('EIO during get(id) is IO, never CORRUPTION or undefined; once it clears get returns every record', async () => {
    const dir = await writtenLog(300, true)
    const fs = new FaultyFileSystem()
    const log = await openWith(dir, fs, { segmentBytes: 4096 })
    fs.failOn('read', 'EIO')
    for (const id of [1, 150, 300])
      expectIo(
        thrown(() => log.get(id)),
        'EIO',
      )
    fs.clear()
    for (let id = 1; id <= 300; id++) expect(log.get(id)).toEqual(payloadFor(id))
    await log.close()
  })

  it('EIO while truncateAfter looks for the cut is IO and cuts nothing; the log stays writable', async () => {
    const dir = await writtenLog(300, true)
    const fs = new FaultyFileSystem()
    const log = await openWith(dir, fs, { segmentBytes: 4096 })
    const before = files(dir)
    fs.failOn('read', 'EIO')
    expectIo(await rejection(log.truncateAfter(100)), 'EIO')
    expect(files(dir)).toEqual(before)
    expect(log.head()).toBe(300)
    fs.clear()
    expect(all(log)).toEqual(payloads(1, 300))
    await log.truncateAfter(100)
    log.append(101, payloads(101, 3))
    await log.sync()
    await log.close()
    const again = await openFileEventLog(dir)
    expect(all(again)).toEqual(payloads(1, 103))
    await again.close()
  })

  describe('at open', () => {
    it('EIO on any read of the recovery scan (first, middle, last) is IO and changes no file; then the open recovers every record', async () => {
      // No sidecars, and a torn tail: the scan reads every record, then looks past the tear for
      // valid records (which would make it corruption rather than a tear).
      const dir = await writtenLog(300, false)
      const segs = readdirSync(dir).filter(isSegment).sort()
      const last = join(dir, segs[segs.length - 1]!)
      truncateSync(last, statSync(last).size - 5)
      // How many reads a clean open makes (on a copy: it repairs the tear).
      const copy = newDir()
      cpSync(dir, copy, { recursive: true })
      const counter = new FaultyFileSystem()
      await (await openWith(copy, counter, { segmentBytes: 4096 })).close()
      const reads = counter.calls.read
      expect(reads).toBeGreaterThan(segs.length)
      const before = files(dir)
      for (const skip of [0, Math.floor(reads / 2), reads - 1]) {
        const fs = new FaultyFileSystem().failOn('read', 'EIO', { skip })
        const e = await rejection(openWith(dir, fs, { segmentBytes: 4096 }))
        expectIo(e, 'EIO')
        expect(isAzothError(e, 'CORRUPTION')).toBe(false)
        expect(files(dir)).toEqual(before)
      }
      const log = await openFileEventLog(dir)
      expect(log.head()).toBe(299)
      expect(log.stats().recoveredBytes).toBeGreaterThan(0)
      expect(all(log)).toEqual(payloads(1, 299))
      await log.close()
    })

    it.each<[string, FaultOp, (path: string) => boolean]>([
      ['an index sidecar', 'readFile', (p) => p.endsWith('.idx')],
      ['the compaction mark', 'readFile', (p) => p.endsWith('COMPACTED')],
      ['the size of a segment', 'fstat', isSegment],
      ['a segment header', 'read', isSegment],
    ])(
      'EIO reading %s is IO and changes no file (a sidecar that cannot be read is not a missing one)',
      async (_what, op, file) => {
        const dir = await writtenLog(300, true)
        const compact = await openFileEventLog(dir)
        await compact.deleteBefore(100)
        const oldest = compact.oldest()
        expect(oldest).toBeGreaterThan(1)
        await compact.close()
        const before = files(dir)
        const fs = new FaultyFileSystem().failOn(op, 'EIO', { file })
        const e = await rejection(openWith(dir, fs))
        expectIo(e, 'EIO')
        expect(file(fileOf(e))).toBe(true)
        expect(files(dir)).toEqual(before)
        fs.clear()
        const log = await openWith(dir, fs)
        expect(log.oldest()).toBe(oldest)
        expect(all(log)).toEqual(payloads(oldest, 300 - oldest + 1))
        await log.close()
      },
    )
  })

  it('short reads (at most 5 bytes per call) are continued, never taken for the end or for damage', async () => {
    const dir = await writtenLog(300, false)
    const fs = new FaultyFileSystem()
    fs.shortReads = 5
    const log = await openWith(dir, fs, { segmentBytes: 4096, readChunkBytes: 1024 })
    expect(log.head()).toBe(300)
    expect(log.stats().recoveredBytes).toBe(0)
    expect(all(log)).toEqual(payloads(1, 300))
    for (let id = 1; id <= 300; id++) expect(log.get(id)).toEqual(payloadFor(id))
    await log.truncateAfter(250)
    expect(all(log)).toEqual(payloads(1, 250))
    await log.close()
    expect(fs.calls.read).toBeGreaterThan(segmentBytes(dir) / 5)
    // A read-only view following a writer through short reads sees every record too.
    const reader = await openWith(dir, fs, { readOnly: true })
    const writer = await openFileEventLog(dir, { segmentBytes: 4096 })
    writer.append(251, payloads(251, 200))
    await writer.sync()
    expect(reader.refresh()).toBe(450)
    expect(all(reader)).toEqual(payloads(1, 450))
    await writer.close()
    await reader.close()
  })

  it.each<FaultOp>(['read', 'fstat'])(
    'a read-only view whose refresh() meets EIO (%s) raises IO; once it clears refresh() takes in every record',
    async (op) => {
      const dir = await writtenLog(100, true)
      const fs = new FaultyFileSystem()
      const reader = await openWith(dir, fs, { readOnly: true })
      const writer = await openFileEventLog(dir, { segmentBytes: 4096 })
      writer.append(101, payloads(101, 300))
      await writer.sync()
      fs.failOn(op, 'EIO', { file: isSegment })
      expectIo(
        thrown(() => reader.refresh()),
        'EIO',
      )
      fs.clear()
      expect(reader.refresh()).toBe(400)
      expect(all(reader)).toEqual(payloads(1, 400))
      await writer.close()
      await reader.close()
    },
  )
})
