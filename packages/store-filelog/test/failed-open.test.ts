import {
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { openFileEventLog } from '../src/index.js'
import { flipByte, payloadFor, payloads, removeDir, tempDir } from './helpers.js'

const SEGMENT_BYTES = 400
const dirs: string[] = []

afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d)
})

/** A closed log of `count` records in small segments; returns its directory and segment files. */
async function makeLog(count: number, compactBefore = 0): Promise<{ dir: string; segments: string[] }> {
  const dir = tempDir()
  dirs.push(dir)
  const log = await openFileEventLog(dir, { segmentBytes: SEGMENT_BYTES })
  log.append(1, payloads(1, count))
  await log.sync()
  if (compactBefore > 0) await log.deleteBefore(compactBefore)
  await log.close()
  return { dir, segments: segmentFiles(dir) }
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort()
}

function firstIdOf(segment: string): number {
  return Number(segment.slice(0, 20))
}

/** Every file of `dir` with its bytes, size and modification time. */
function snapshot(dir: string): Record<string, { size: number; mtimeMs: number; bytes: string }> {
  const out: Record<string, { size: number; mtimeMs: number; bytes: string }> = {}
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    const st = statSync(path)
    out[name] = { size: st.size, mtimeMs: st.mtimeMs, bytes: readFileSync(path).toString('base64') }
  }
  return out
}

/** Opens `dir` expecting `CORRUPTION`, and checks that the failed open changed no file. */
async function expectCorruptionChangingNothing(
  dir: string,
  options: Parameters<typeof openFileEventLog>[1] = {},
): Promise<Record<string, unknown>> {
  const before = snapshot(dir)
  const e = await openFileEventLog(dir, { segmentBytes: SEGMENT_BYTES, ...options }).then(
    async (log) => {
      await log.close()
      return undefined
    },
    (err: unknown) => err,
  )
  expect(isAzothError(e, 'CORRUPTION'), `expected CORRUPTION, got ${String(e)}`).toBe(true)
  // LOCK comes and goes with the attempt; everything else must be exactly as it was.
  const after = snapshot(dir)
  delete before['LOCK']
  delete after['LOCK']
  expect(after).toEqual(before)
  return (e as { details: Record<string, unknown> }).details
}

function removeSidecars(dir: string): void {
  for (const n of readdirSync(dir)) if (n.endsWith('.idx')) unlinkSync(join(dir, n))
}

describe('an open that fails changes no file', () => {
  it('a bit flip in the middle of an older segment, with a torn tail at the end', async () => {
    const { dir, segments } = await makeLog(60)
    removeSidecars(dir)
    const older = join(dir, segments[1]!)
    flipByte(older, 32 + 16 + 3) // the first record's payload: valid records follow
    const last = join(dir, segments[segments.length - 1]!)
    truncateSync(last, statSync(last).size - 3)
    const details = await expectCorruptionChangingNothing(dir)
    expect(details).toMatchObject({ file: older, offset: 32 })
  })

  it('a missing middle segment', async () => {
    const { dir, segments } = await makeLog(60)
    unlinkSync(join(dir, segments[2]!))
    const details = await expectCorruptionChangingNothing(dir)
    expect(details['file']).toBe(join(dir, segments[3]!))
  })

  it('a missing first segment, the log never compacted: the missing ids are named', async () => {
    const { dir, segments } = await makeLog(60)
    unlinkSync(join(dir, segments[0]!))
    const details = await expectCorruptionChangingNothing(dir)
    expect(details).toMatchObject({ missingFrom: 1, missingTo: firstIdOf(segments[1]!) - 1 })
    // A read-only open says the same.
    await expectCorruptionChangingNothing(dir, { readOnly: true })
  })

  it('a missing first segment above what the log compacted itself', async () => {
    const { dir, segments } = await makeLog(80, 30)
    const oldest = firstIdOf(segments[0]!)
    expect(oldest).toBeGreaterThan(1)
    unlinkSync(join(dir, segments[0]!))
    unlinkSync(join(dir, segments[1]!))
    const details = await expectCorruptionChangingNothing(dir)
    expect(details).toMatchObject({ missingFrom: oldest, missingTo: firstIdOf(segments[2]!) - 1 })
  })

  it('every segment gone after a compaction', async () => {
    const { dir, segments } = await makeLog(80, 30)
    for (const s of segments) unlinkSync(join(dir, s))
    const details = await expectCorruptionChangingNothing(dir)
    expect(details).toMatchObject({ missingFrom: firstIdOf(segments[0]!) })
  })

  it.each([0, 8, 12, 16, 23, 24, 27])('a bit flip at byte %i of the compaction mark', async (at) => {
    const { dir } = await makeLog(80, 30)
    const mark = join(dir, 'COMPACTED')
    flipByte(mark, at)
    const details = await expectCorruptionChangingNothing(dir)
    expect(details).toMatchObject({ file: mark, offset: 0 })
    await expectCorruptionChangingNothing(dir, { readOnly: true })
  })

  it('a cut or emptied compaction mark', async () => {
    const { dir } = await makeLog(80, 30)
    const mark = join(dir, 'COMPACTED')
    truncateSync(mark, 20)
    expect(await expectCorruptionChangingNothing(dir)).toMatchObject({ file: mark })
    writeFileSync(mark, '')
    expect(await expectCorruptionChangingNothing(dir)).toMatchObject({ file: mark })
  })

  it('a torn tail that would cut committed records (committedHead) is not repaired', async () => {
    const { dir, segments } = await makeLog(60)
    const last = join(dir, segments[segments.length - 1]!)
    truncateSync(last, statSync(last).size - 3)
    const details = await expectCorruptionChangingNothing(dir, { committedHead: 60 })
    expect(details).toMatchObject({ file: last, head: 59, committedHead: 60 })
    // Committed only up to what survives: the tear is repaired.
    const log = await openFileEventLog(dir, { segmentBytes: SEGMENT_BYTES, committedHead: 59 })
    expect(log.head()).toBe(59)
    expect(log.get(59)).toEqual(payloadFor(59))
    await log.close()
  })

  it('a torn older segment whose later segments prove they were synced', async () => {
    const { dir, segments } = await makeLog(60)
    const second = join(dir, segments[1]!)
    renameSync(second.replace(/\.seg$/, '.idx'), join(dir, 'moved-away.idx'))
    truncateSync(second, statSync(second).size - 5)
    await expectCorruptionChangingNothing(dir)
  })
})
