import { readdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isAzothError, silentLogger } from '@azothdb/core'
import { afterAll, describe, expect, it } from 'vitest'
import { openFileEventLog } from '../src/index.js'
import { ReadAheadWorker } from '../src/read-ahead-worker.js'
import { verifyRecords } from '../src/record-checksums.js'
import { RECORD_HEADER_BYTES, writeRecordHeader } from '../src/segment-format.js'
import { flipByte, payloadFor, payloads, removeDir, tempDir } from './helpers.js'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) removeDir(d)
})

// More records than a read must have left to read ahead at all (8,192).
const COUNT = 10_000
const CHUNK = 4_096 // many chunks, so most are read ahead and checked by the worker

async function makeLog(): Promise<{ dir: string; file: string; offsets: number[] }> {
  const dir = tempDir()
  dirs.push(dir)
  const log = await openFileEventLog(dir)
  log.append(1, payloads(1, COUNT))
  await log.close()
  const offsets = [0]
  let o = 32
  for (let id = 1; id <= COUNT; id++) {
    offsets.push(o)
    o += RECORD_HEADER_BYTES + payloadFor(id).length
  }
  const name = readdirSync(dir).find((n) => n.endsWith('.seg'))!
  return { dir, file: join(dir, name), offsets }
}

/** Time for a worker to start and drain its queue. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 300))
}

describe('chunks read ahead and checked on a worker thread', () => {
  it('reads the same records with and without it, from any start', async () => {
    const { dir } = await makeLog()
    for (const backgroundChecksums of [true, false]) {
      const log = await openFileEventLog(dir, { readOnly: true, readChunkBytes: CHUNK, backgroundChecksums })
      for (const from of [1, 2, 1_777]) {
        let id = from
        let wrong = 0
        for (const r of log.read({ from })) {
          if (r.id !== id || !Buffer.from(r.bytes).equals(payloadFor(id))) wrong++
          id++
        }
        expect(wrong).toBe(0)
        expect(id).toBe(COUNT + 1)
      }
      await log.close()
    }
  }, 30_000)

  it('reports damage in any chunk with its file and offset, with and without it', async () => {
    await settle()
    for (const bad of [5, 600, 4_500, 9_950]) {
      const { dir, file, offsets } = await makeLog()
      flipByte(file, offsets[bad]! + RECORD_HEADER_BYTES) // first payload byte
      for (const backgroundChecksums of [true, false]) {
        const log = await openFileEventLog(dir, {
          readOnly: true,
          readChunkBytes: CHUNK,
          backgroundChecksums,
        })
        let seen = 0
        let error: unknown
        try {
          // A consumer slow enough that the worker answers before the reader needs the next chunk.
          for (const r of log.read()) {
            expect(r.bytes).toEqual(payloadFor(r.id))
            seen = r.id
          }
        } catch (e) {
          error = e
        }
        expect(seen).toBe(bad - 1)
        expect(isAzothError(error, 'CORRUPTION')).toBe(true)
        expect(error).toMatchObject({ details: { file, offset: offsets[bad] } })
        await log.close()
      }
    }
  }, 30_000)

  it('a chunk the worker cannot read is read by the reader: every record comes back', async () => {
    await settle()
    const { dir, file } = await makeLog()
    const log = await openFileEventLog(dir, { readOnly: true, readChunkBytes: CHUNK })
    // The view holds its last segment open; the worker opens it by name, which now fails (ENOENT).
    renameSync(file, `${file}.moved`)
    try {
      let id = 1
      // A consumer slow enough that the worker takes jobs before the reader needs their chunks.
      for (const r of log.read()) {
        expect(r.id).toBe(id)
        expect(r.bytes).toEqual(payloadFor(id))
        id++
      }
      expect(id).toBe(COUNT + 1)
    } finally {
      renameSync(`${file}.moved`, file)
      await log.close()
    }
  }, 30_000)

  it('answers every job as the caller would have, and hands back undefined when it cannot', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const file = join(dir, 'chunks.bin')
    const chunks: { offset: number; size: number; expected: number }[] = []
    const parts: Uint8Array[] = []
    let offset = 0
    for (let c = 0; c < 40; c++) {
      const lengths = Array.from({ length: 50 }, (_, i) => (c * 13 + i * 7) % 300)
      const total = lengths.reduce((s, n) => s + RECORD_HEADER_BYTES + n, 0)
      const bytes = new Uint8Array(total)
      let o = 0
      lengths.forEach((n, i) => {
        bytes.fill(c + i, o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + n)
        writeRecordHeader(bytes, o, i + 1, n)
        o += RECORD_HEADER_BYTES + n
      })
      if (c % 3 === 1) bytes[(c * 977) % total]! ^= 1 // damaged
      const size = c % 4 === 2 ? total - 5 : total // torn at the end
      chunks.push({ offset, size, expected: verifyRecords(bytes, 0, size) })
      parts.push(bytes)
      offset += total
    }
    const contents = Buffer.concat(parts)
    writeFileSync(file, contents)
    const worker = new ReadAheadWorker(silentLogger)
    const jobs = chunks.map((c) => worker.submit(file, c.offset, c.size)!)
    await settle() // the worker boots and answers them all
    const answers = jobs.map((job) => job.result())
    expect(answers.map((a) => a?.checked)).toEqual(chunks.map((c) => c.expected))
    answers.forEach((a, i) => {
      const { offset, size } = chunks[i]!
      expect(a!.filled).toBe(size)
      expect(a!.buffer.equals(contents.subarray(offset, offset + size))).toBe(true)
    })
    // A chunk past the end of the file comes back short; a missing file is counted, not answered.
    const short = worker.submit(file, contents.length - 100, 4096)!
    const missing = worker.submit(join(dir, 'gone.bin'), 0, 4096)!
    await settle()
    expect(short.result()).toMatchObject({ filled: 100 })
    expect(missing.result()).toBeUndefined()
    expect(worker.failures).toBe(1)
    // Jobs queued to a worker that is gone are taken back (the caller reads those chunks itself)
    // at once; those it finished before it stopped are answered.
    const late = chunks.map((c) => worker.submit(file, c.offset, c.size)!)
    await worker.terminate()
    const lateAnswers = late.map((job) => job.result())
    expect(lateAnswers.map((a, i) => a === undefined || a.checked === chunks[i]!.expected)).not.toContain(
      false,
    )
    // A job the worker has not started (here: it is still booting) is taken back at once.
    const booting = new ReadAheadWorker(silentLogger)
    expect(booting.submit(file, 0, chunks[0]!.size)!.result()).toBeUndefined()
    await booting.terminate()
    expect(worker.submit(file, 0, 10)).toBeUndefined()
  })
})
