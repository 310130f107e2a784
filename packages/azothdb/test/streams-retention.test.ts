import { join } from 'node:path'
import { Azoth } from 'azothdb'
import { describe, expect, it } from 'vitest'
import { expectCode } from './support/expect-code.js'
import { tempDir } from './support/temp-dir.js'

const event = (i: number) => ({ type: 'Counted', data: { i, pad: 'x'.repeat(100) } })

describe.each(['lmdb', 'file'] as const)('streams in backups (eventLog %s)', (eventLog) => {
  it('backup and restore keep the streams, their versions and their index', async () => {
    const backupDir = join(tempDir(), 'backup')
    await using db = await Azoth.open(tempDir(), { eventLog })
    for (let i = 0; i < 20; i++) await db.appendToStream(`acct-${i % 3}`, [event(i)])
    await db
      .transaction()
      .keys(['k'])
      .execute((tx) => tx.set('k', 1n))
    const digestBefore = db.stateDigest()
    await db.backupTo(backupDir)
    // Appends after the backup are not in it.
    await db.appendToStream('acct-0', [event(99)])

    await using restored = await Azoth.restoreFrom(backupDir, join(tempDir(), 'restored'))
    // The stream index is not part of the state digest: streams leave it as it was.
    expect(restored.stateDigest()).toBe(digestBefore)
    expect([...restored.streams({ prefix: 'acct-' })]).toEqual([
      { name: 'acct-0', version: 6n },
      { name: 'acct-1', version: 6n },
      { name: 'acct-2', version: 5n },
    ])
    const read = await restored.readStream('acct-1')
    expect(read.events.map((e) => (e.payload as { i: number }).i)).toEqual([1, 4, 7, 10, 13, 16, 19])
    // The restored database appends where the backup left off.
    await expectCode(
      restored.appendToStream('acct-0', [event(100)], { expectedStreamVersion: 7n }),
      'CONFLICT',
    )
    const next = await restored.appendToStream('acct-0', [event(100)], { expectedStreamVersion: 6n })
    expect(next.nextExpectedStreamVersion).toBe(7n)
  })
})

describe('streams and file-log compaction', () => {
  it('reads of retained events work; reaching a compacted event is NOT_FOUND, never a stream with a hole', async () => {
    const dir = tempDir()
    const options = { eventLog: 'file', segmentBytes: 4096 } as const
    await using db = await Azoth.open(dir, options)
    const p = db.projector({ name: 'all', handlers: [{ eventTypes: '*', handle: () => {} }] })
    for (let i = 0; i < 200; i++) await db.appendToStream(`c-${i % 2}`, [event(i)])
    await p.runOnce()
    const dropped = await db.compactEventLog()
    expect(dropped).toBeGreaterThan(2)
    // The first retained event of stream c-0.
    const oldest = [...db.events({ limit: 1 })][0]!.id
    const firstKept = [...db.events()].find((e) => e.stream?.name === 'c-0')!.stream!.version
    expect(firstKept).toBeGreaterThan(0n)

    // Versions and existence come from the index, which keeps every entry.
    expect(await db.streamExists('c-0')).toBe(true)
    expect([...db.streams()].map((s) => s.version)).toEqual([99n, 99n])
    // Reading from the first retained version on works, forward and backward.
    const kept = await db.readStream('c-0', { from: firstKept })
    expect(kept.events.map((e) => e.stream!.version)).toEqual(
      Array.from({ length: Number(100n - firstKept) }, (_, i) => firstKept + BigInt(i)),
    )
    expect(kept.events[0]!.id).toBeGreaterThanOrEqual(oldest)
    const backward = await db.readStream('c-0', { direction: 'backward', maxCount: 3 })
    expect(backward.events.map((e) => e.stream!.version)).toEqual([99n, 98n, 97n])
    // Reaching a compacted event fails, naming it, rather than returning the stream without it.
    const e = (await expectCode(db.readStream('c-0'), 'NOT_FOUND')) as { details: Record<string, unknown> }
    expect(e.details).toMatchObject({ stream: 'c-0', version: 0n, oldestEventId: oldest })
    await expectCode(db.aggregateStream('c-0', { initialState: () => 0, evolve: (n) => n + 1 }), 'NOT_FOUND')
    await expectCode(db.readStream('c-0', { direction: 'backward' }), 'NOT_FOUND')
    // Appends go on with the right versions.
    const r = await db.appendToStream('c-0', [event(200)], { expectedStreamVersion: 99n })
    expect(r.nextExpectedStreamVersion).toBe(100n)
  })
})
