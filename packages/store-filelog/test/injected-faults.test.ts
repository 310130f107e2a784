import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { openFileEventLog } from '../src/index.js'
import { payloadFor, payloads, removeDir, tempDir } from './helpers.js'
import { FaultyFileSystem } from './support/faulty-file-system.js'
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

/** Bytes in the directory's segment files: what reached the files. */
function segmentBytes(dir: string): number {
  let n = 0
  for (const f of readdirSync(dir)) if (f.endsWith('.seg')) n += statSync(join(dir, f)).size
  return n
}

/** Reopens `dir` with node:fs: every record, the head, and the bytes the open had to repair. */
async function reopened(
  dir: string,
): Promise<{ records: Uint8Array[]; head: number; recoveredBytes: number }> {
  const log = await openFileEventLog(dir)
  try {
    expect(log.verify()).toBe(log.head())
    const records = [...log.read()].map((r) => new Uint8Array(r.bytes))
    return { records, head: log.head(), recoveredBytes: log.stats().recoveredBytes }
  } finally {
    await log.close()
  }
}

describe('injected I/O failures in the file log', () => {
  it.each(['EIO', 'ENOSPC'])(
    'a write failing with %s rejects the sync with IO, leaves the files as acknowledged, and writing resumes',
    async (errno) => {
      const dir = newDir()
      const fs = new FaultyFileSystem()
      const log = await openWith(dir, fs)
      log.append(1, payloads(1, 10))
      await log.sync()
      const acknowledgedBytes = segmentBytes(dir)
      fs.failOn('write', errno)
      log.append(11, payloads(11, 10))
      expectIo(await rejection(log.sync()), errno)
      expectIo(await rejection(log.sync()), errno)
      // Nothing of the failed write stays in the files.
      expect(segmentBytes(dir)).toBe(acknowledgedBytes)
      expect(log.stats().failedWrites).toBe(2)
      fs.clear()
      // The records appended before the failure were kept in the buffer: this sync writes them.
      await log.sync()
      log.append(21, payloads(21, 5))
      await log.sync()
      await log.close()
      expect(await reopened(dir)).toEqual({ records: payloads(1, 25), head: 25, recoveredBytes: 0 })
    },
  )

  it('short writes (at most 7 bytes per call) still write every record whole', async () => {
    const dir = newDir()
    const fs = new FaultyFileSystem()
    fs.shortWrites = 7
    // A small buffer, so records larger than it take the direct path too; small segments rotate.
    const log = await openWith(dir, fs, { writeBufferBytes: 256, segmentBytes: 2048 })
    const written: Uint8Array[] = []
    for (let id = 1; id <= 60; id++) {
      const record = payloadFor(id, id % 7 === 0 ? 700 : 1 + ((id * 37) % 90))
      log.append(id, [record])
      written.push(record)
      if (id % 10 === 0) await log.sync()
    }
    await log.close()
    expect(fs.calls.write).toBeGreaterThan(1000)
    const after = await reopened(dir)
    expect(after).toEqual({ records: written, head: 60, recoveredBytes: 0 })
  })

  it('a short write followed by ENOSPC is cut back: no partial record stays in the file', async () => {
    const dir = newDir()
    const fs = new FaultyFileSystem()
    const log = await openWith(dir, fs)
    log.append(1, payloads(1, 10))
    await log.sync()
    const acknowledgedBytes = segmentBytes(dir)
    const writesBefore = fs.calls.write
    fs.shortWrites = 100
    fs.failOn('write', 'ENOSPC', { skip: 1 }) // The first call writes 100 bytes, the next fails.
    log.append(11, payloads(11, 20))
    expectIo(await rejection(log.sync()), 'ENOSPC')
    expect(fs.calls.write - writesBefore).toBe(2)
    expect(segmentBytes(dir)).toBe(acknowledgedBytes)
    fs.clear()
    fs.shortWrites = 0
    await log.sync()
    await log.close()
    expect(await reopened(dir)).toEqual({ records: payloads(1, 30), head: 30, recoveredBytes: 0 })
  })

  describe.each([
    ['fdatasync', 'EIO'],
    ['fdatasync', 'ENOSPC'],
    ['fsync', 'EIO'],
  ] as const)('%s failing with %s', (op, errno) => {
    it('rejects the sync with IO, then refuses every write until reopened, without another fsync', async () => {
      const dir = newDir()
      const fs = new FaultyFileSystem()
      // Small segments: the failing batch starts a new segment, so the directory is fsynced too.
      const log = await openWith(dir, fs, { segmentBytes: 1024 })
      log.append(1, payloads(1, 5))
      await log.sync()
      fs.failOn(op, errno, { times: 1 })
      log.append(6, payloads(6, 30))
      expectIo(await rejection(log.sync()), errno)
      const syncs = fs.calls.fdatasync + fs.calls.fsync
      // The kernel may have dropped the pages it could not write and marked them clean: a later
      // fsync could succeed without them on disk. So the log never trusts one again.
      fs.clear()
      expect(
        isAzothError(
          thrown(() => log.append(36, payloads(36, 1))),
          'IO',
        ),
      ).toBe(true)
      expect(isAzothError(await rejection(log.sync()), 'IO')).toBe(true)
      expect(isAzothError(await rejection(log.flush()), 'IO')).toBe(true)
      expect(isAzothError(await rejection(log.truncateAfter(5)), 'IO')).toBe(true)
      await log.close()
      expect(fs.calls.fdatasync + fs.calls.fsync).toBe(syncs)
      // Reopened: what was acknowledged is there, the unacknowledged batch whole or not at all.
      const after = await reopened(dir)
      expect(after.records.slice(0, 5)).toEqual(payloads(1, 5))
      expect([5, 35]).toContain(after.head)
      expect(after.records).toEqual(payloads(1, after.head))
      const again = await openFileEventLog(dir)
      again.append(after.head + 1, payloads(after.head + 1, 3))
      await again.sync()
      await again.close()
    })
  })

  it('a rollback that fails too leaves the log refusing writes; a reopen repairs the torn tail', async () => {
    const dir = newDir()
    const fs = new FaultyFileSystem()
    const log = await openWith(dir, fs)
    log.append(1, payloads(1, 10))
    await log.sync()
    fs.shortWrites = 50
    fs.failOn('write', 'EIO', { skip: 1 })
    fs.failOn('ftruncate', 'EIO')
    log.append(11, payloads(11, 10))
    expectIo(await rejection(log.sync()), 'EIO')
    fs.clear()
    fs.shortWrites = 0
    expect(
      isAzothError(
        thrown(() => log.append(21, payloads(21, 1))),
        'IO',
      ),
    ).toBe(true)
    await log.close()
    const after = await reopened(dir)
    expect(after).toEqual({ records: payloads(1, 10), head: 10, recoveredBytes: 50 })
  })

  it('a failing open() of a file is IO and changes nothing', async () => {
    const dir = newDir()
    const fs = new FaultyFileSystem().failOn('open', 'EIO')
    const e = await rejection(openWith(dir, fs))
    expect(isAzothError(e, 'IO')).toBe(true)
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([])
  })
})
