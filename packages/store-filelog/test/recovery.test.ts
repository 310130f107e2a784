import { appendFileSync, readdirSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { openFileEventLog } from '../src/index.js'
import { flipByte, payloadFor, payloads, removeDir, tempDir } from './helpers.js'

const HEADER = 32
const RECORD_HEADER = 16
const dirs: string[] = []

afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

/** A closed log of `count` records; returns its directory and segment file names in order. */
async function makeLog(count: number, options = {}): Promise<{ dir: string; segments: string[] }> {
  const dir = tempDir()
  dirs.push(dir)
  const log = await openFileEventLog(dir, options)
  log.append(1, payloads(1, count))
  await log.close()
  return {
    dir,
    segments: readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort(),
  }
}

/** File offset of record `id` in a segment whose first id is `firstId`. */
function offsetOf(id: number, firstId = 1): number {
  let o = HEADER
  for (let i = firstId; i < id; i++) o += RECORD_HEADER + payloadFor(i).length
  return o
}

function removeSidecars(dir: string): void {
  for (const n of readdirSync(dir)) if (n.endsWith('.idx')) unlinkSync(join(dir, n))
}

async function openError(dir: string): Promise<{ code: string; details: Record<string, unknown> }> {
  const e = await openFileEventLog(dir).then(
    async (log) => {
      await log.close()
      return undefined
    },
    (err: unknown) => err,
  )
  expect(isAzothError(e), `expected an Azoth error, got ${String(e)}`).toBe(true)
  return e as { code: string; details: Record<string, unknown> }
}

function caught(fn: () => unknown): { code: string; details: Record<string, unknown> } {
  try {
    fn()
  } catch (e) {
    expect(isAzothError(e)).toBe(true)
    return e as { code: string; details: Record<string, unknown> }
  }
  throw new Error('expected an error')
}

describe('open-time recovery', () => {
  it.each([
    ['cut inside the last record', (file: string) => truncateSync(file, offsetOf(10) + 20)],
    ['cut inside the last record header', (file: string) => truncateSync(file, offsetOf(10) + 5)],
    ['garbage appended', (file: string) => appendFileSync(file, Buffer.alloc(300, 0xab))],
    ['zeros appended (file extended, data lost)', (file: string) => appendFileSync(file, Buffer.alloc(4096))],
    [
      'checksum of the last record broken',
      (file: string) => flipByte(file, offsetOf(10) + RECORD_HEADER + 1),
    ],
  ])('truncates a torn tail: %s', async (_name, damage) => {
    const { dir, segments } = await makeLog(10)
    removeSidecars(dir)
    const file = join(dir, segments[0]!)
    damage(file)
    const log = await openFileEventLog(dir)
    const expectedHead = log.head()
    expect(expectedHead === 9 || expectedHead === 10).toBe(true)
    expect(log.stats().recoveredBytes).toBeGreaterThan(0)
    expect(log.verify()).toBe(expectedHead)
    log.append(expectedHead + 1, [payloadFor(99)])
    await log.close()
    const again = await openFileEventLog(dir)
    expect(again.head()).toBe(expectedHead + 1)
    expect(again.get(expectedHead + 1)).toEqual(payloadFor(99))
    expect(again.stats().recoveredBytes).toBe(0)
    await again.close()
  })

  it('repairs a segment whose header was never fully written (killed while rotating)', async () => {
    const { dir } = await makeLog(10)
    writeFileSync(join(dir, '00000000000000000011.seg'), Buffer.from('AZOT'))
    const log = await openFileEventLog(dir)
    expect(log.head()).toBe(10)
    expect(log.stats().segments).toBe(2)
    log.append(11, [payloadFor(11)])
    await log.close()
    const again = await openFileEventLog(dir)
    expect(again.verify()).toBe(11)
    await again.close()
  })

  it('a read-only open reads up to a torn tail and repairs nothing', async () => {
    const { dir, segments } = await makeLog(10)
    removeSidecars(dir)
    truncateSync(join(dir, segments[0]!), offsetOf(10) + 3)
    const ro = await openFileEventLog(dir, { readOnly: true })
    expect(ro.head()).toBe(9)
    expect(ro.verify()).toBe(9)
    await ro.close()
    const rw = await openFileEventLog(dir)
    expect(rw.head()).toBe(9)
    await rw.close()
  })

  it('recovers a power loss across a rotation: torn sealed segment, later unsynced segments dropped', async () => {
    const { dir, segments } = await makeLog(60, { segmentBytes: 400 })
    expect(segments.length).toBeGreaterThan(3)
    removeSidecars(dir)
    const second = join(dir, segments[1]!)
    const firstId = Number(segments[1]!.slice(0, 20))
    truncateSync(second, offsetOf(firstId + 2, firstId) + 7)
    const log = await openFileEventLog(dir, { segmentBytes: 400 })
    expect(log.head()).toBe(firstId + 1)
    expect(log.stats().segments).toBe(2)
    expect(log.verify()).toBe(firstId + 1)
    await log.close()
  })

  it('reports the same tear as corruption when a later segment proves it was synced', async () => {
    const { dir, segments } = await makeLog(60, { segmentBytes: 400 })
    const second = join(dir, segments[1]!)
    const firstId = Number(segments[1]!.slice(0, 20))
    unlinkSync(second.replace(/\.seg$/, '.idx'))
    truncateSync(second, offsetOf(firstId + 2, firstId) + 7)
    const e = await openError(dir)
    expect(e.code).toBe('CORRUPTION')
    expect(e.details).toMatchObject({ file: second, offset: offsetOf(firstId + 2, firstId) })
  })
})

describe('corruption is reported with its location', () => {
  it('payload flip in the middle of the last segment (scanned at open)', async () => {
    const { dir, segments } = await makeLog(10)
    removeSidecars(dir)
    const file = join(dir, segments[0]!)
    flipByte(file, offsetOf(5) + RECORD_HEADER + 2)
    const e = await openError(dir)
    expect(e.code).toBe('CORRUPTION')
    expect(e.details).toMatchObject({ file, offset: offsetOf(5) })
  })

  it.each([
    ['id', 3],
    ['length', 9],
    ['checksum', 13],
  ])('record header flip (%s) in the middle of a segment', async (_field, at) => {
    const { dir, segments } = await makeLog(10)
    removeSidecars(dir)
    const file = join(dir, segments[0]!)
    flipByte(file, offsetOf(4) + at)
    const e = await openError(dir)
    expect(e.code).toBe('CORRUPTION')
    expect(e.details).toMatchObject({ file, offset: offsetOf(4) })
  })

  it.each([0, 9, 17, 29])('segment header flip at byte %i', async (at) => {
    const { dir, segments } = await makeLog(40, { segmentBytes: 400 })
    const file = join(dir, segments[1]!)
    flipByte(file, at)
    const e = await openError(dir)
    expect(e.code).toBe('CORRUPTION')
    expect(e.details).toMatchObject({ file, offset: 0 })
  })

  it('damage in a sealed segment without a sidecar is found at open', async () => {
    const { dir, segments } = await makeLog(60, { segmentBytes: 400 })
    removeSidecars(dir)
    const file = join(dir, segments[1]!)
    const firstId = Number(segments[1]!.slice(0, 20))
    flipByte(file, offsetOf(firstId + 1, firstId) + RECORD_HEADER)
    const e = await openError(dir)
    expect(e).toMatchObject({ code: 'CORRUPTION', details: { file, offset: offsetOf(firstId + 1, firstId) } })
  })

  it('damage in a segment covered by a sidecar is found by get, read and verify', async () => {
    const { dir, segments } = await makeLog(60, { segmentBytes: 400 })
    const file = join(dir, segments[1]!)
    const firstId = Number(segments[1]!.slice(0, 20))
    const bad = firstId + 1
    flipByte(file, offsetOf(bad, firstId) + RECORD_HEADER)
    const log = await openFileEventLog(dir, { segmentBytes: 400 })
    const where = { file, offset: offsetOf(bad, firstId) }
    expect(caught(() => log.get(bad))).toMatchObject({ code: 'CORRUPTION', details: where })
    expect(caught(() => [...log.read()])).toMatchObject({ code: 'CORRUPTION', details: where })
    expect(caught(() => log.verify())).toMatchObject({ code: 'CORRUPTION', details: where })
    // Neighbours stay readable.
    expect(log.get(bad - 1)).toEqual(payloadFor(bad - 1))
    expect(log.get(bad + 1)).toEqual(payloadFor(bad + 1))
    await log.close()
  })

  it('a damaged sidecar is ignored and rebuilt by a scan', async () => {
    const { dir, segments } = await makeLog(60, { segmentBytes: 400 })
    const sidecar = join(dir, segments[0]!.replace(/\.seg$/, '.idx'))
    flipByte(sidecar, 20)
    const log = await openFileEventLog(dir, { segmentBytes: 400 })
    expect(log.verify()).toBe(60)
    for (let id = 1; id <= 60; id++) expect(log.get(id)).toEqual(payloadFor(id))
    await log.close()
  })
})
