import { join } from 'node:path'
import { CorruptionError, type EventRange, type EventRecord, isAzothError, TypedValue } from '@azothdb/core'
import { DATA_FILE, type LmdbStore, openLmdbStore } from '@azothdb/store-lmdb'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { flipBit, occurrences } from './support/bit-flips.js'
import { codeOf } from './support/code-of.js'
import { MemoryEventLog } from './support/memory-event-log.js'
import { tempDir } from './support/temp-dir.js'
import { thrown } from './support/thrown.js'

const KEYS = 12
const keyName = (i: number): string => `acct-${String(i).padStart(3, '0')}`

interface Written {
  readonly dir: string
  readonly dataFile: string
  /** key → value encoding, as written. */
  readonly values: Map<string, Uint8Array>
  /** id - 1 → envelope bytes, as written. */
  readonly events: Uint8Array[]
}

/** A store with KEYS accounts (one put and one event per commit), closed. */
async function writtenStore(): Promise<Written> {
  const dir = tempDir()
  const store = await openLmdbStore(dir, { durability: 'relaxed' })
  for (let i = 0; i < KEYS; i++) {
    await store.commit((tx) => {
      tx.put(keyName(i), TypedValue.i64(1_000_000n + BigInt(i) * 7919n))
      tx.appendEvent('deposited', { account: keyName(i), amount: 1_000 + i })
    })
  }
  const values = new Map<string, Uint8Array>()
  for (let i = 0; i < KEYS; i++) values.set(keyName(i), new Uint8Array(store.getBytes(keyName(i))!))
  const events = [...store.events()].map((r) => new Uint8Array(r.bytes))
  await store.close()
  return { dir, dataFile: join(dir, DATA_FILE), values, events }
}

/** Where key `name`'s stored value (encoding and checksum) starts: right after its key in an LMDB leaf node. */
function valueRegions(w: Written, name: string): (data: Buffer) => number[] {
  const key = Buffer.from(name)
  const needle = Buffer.concat([key, w.values.get(name)!])
  return (data) => occurrences(data, needle).map((at) => at + key.length)
}

/** Where event `id`'s chunk starts: its 12-byte header (count, end offset, checksum) before the envelope. */
function chunkRegions(w: Written, id: number): (data: Buffer) => number[] {
  return (data) => occurrences(data, w.events[id - 1]!).map((at) => at - 12)
}

/** The outcome of a read: its value, or 'CORRUPTION'; any other error fails the test. */
function read<T>(fn: () => T): T | 'CORRUPTION' {
  try {
    return fn()
  } catch (e) {
    if (isAzothError(e, 'CORRUPTION')) return 'CORRUPTION'
    throw e
  }
}

/**
 * Every read path gives the written data or CORRUPTION, never anything else; `verify()` names
 * exactly the keys and events whose reads gave CORRUPTION. Returns those.
 */
async function checkAgainstModel(
  store: LmdbStore,
  w: Written,
): Promise<{ keys: Set<string>; events: Set<number> }> {
  const damagedKeys = new Set<string>()
  for (const [name, encoding] of w.values) {
    const value = read(() => store.get(name))
    const bytes = read(() => store.getBytes(name))
    if (value === 'CORRUPTION' || bytes === 'CORRUPTION') {
      // A damaged value is damaged on every path.
      expect([value, bytes]).toEqual(['CORRUPTION', 'CORRUPTION'])
      damagedKeys.add(name)
      continue
    }
    expect(bytes).toEqual(encoding)
    expect(value?.asI64()).toBe(Buffer.from(encoding).readBigInt64BE(1))
  }
  // A scan yields the model's entries, in order, up to the first damaged one, which is CORRUPTION.
  const names = [...w.values.keys()]
  const scanned: string[] = []
  const scanOutcome = read(() => {
    for (const entry of store.scan('acct-')) {
      expect(entry.value.asI64()).toBe(Buffer.from(w.values.get(entry.key as string)!).readBigInt64BE(1))
      scanned.push(entry.key as string)
    }
  })
  expect(scanned).toEqual(names.slice(0, scanned.length))
  expect(scanOutcome === 'CORRUPTION').toBe(damagedKeys.size > 0)
  if (damagedKeys.size > 0) expect(damagedKeys.has(names[scanned.length]!)).toBe(true)
  const snap = store.snapshot()
  for (const name of names) {
    expect(read(() => snap.get(name)) === 'CORRUPTION').toBe(damagedKeys.has(name))
  }
  snap.close()
  expect(read(() => store.stateDigest()) === 'CORRUPTION').toBe(damagedKeys.size > 0)

  const damagedEvents = new Set<number>()
  for (let id = 1; id <= w.events.length; id++) {
    const bytes = read(() => store.getEvent(id))
    if (bytes === 'CORRUPTION') damagedEvents.add(id)
    else expect(bytes).toEqual(w.events[id - 1])
  }
  let next = 1
  const iterated = read(() => {
    for (const record of store.events()) {
      expect(record.id).toBe(next)
      expect(record.bytes).toEqual(w.events[next - 1])
      next++
    }
  })
  expect(iterated === 'CORRUPTION').toBe(damagedEvents.size > 0)
  if (damagedEvents.size > 0) expect(damagedEvents.has(next)).toBe(true)
  else expect(next - 1).toBe(w.events.length)

  const report = await store.verify()
  expect(report.ok).toBe(damagedKeys.size + damagedEvents.size === 0)
  expect(new Set(report.problems.flatMap((p) => (p.key === undefined ? [] : [p.key])))).toEqual(damagedKeys)
  expect(new Set(report.problems.flatMap((p) => (p.eventId === undefined ? [] : [p.eventId])))).toEqual(
    damagedEvents,
  )
  return { keys: damagedKeys, events: damagedEvents }
}

/** Opens the damaged store; an open refused with CORRUPTION (a damaged last chunk) is a right answer too. */
async function openDamaged(dir: string): Promise<LmdbStore | 'CORRUPTION'> {
  try {
    return await openLmdbStore(dir)
  } catch (e) {
    if (isAzothError(e, 'CORRUPTION')) return 'CORRUPTION'
    throw e
  }
}

describe('checksums of stored values and events', () => {
  it('a flipped bit in a value is CORRUPTION naming the key on every read path, and verify() names it', async () => {
    const w = await writtenStore()
    const victim = keyName(5)
    // Bit 1 of the i64's last byte: the balance would read off by 2.
    expect(flipBit(w.dataFile, valueRegions(w, victim), 8, 1)).toBeGreaterThan(0)
    const store = await openLmdbStore(w.dir)
    try {
      const e = thrown(() => store.get(victim))
      expect(isAzothError(e, 'CORRUPTION')).toBe(true)
      expect((e as { details: unknown }).details).toMatchObject({ where: 'key', key: victim })
      const damaged = await checkAgainstModel(store, w)
      expect(damaged.keys).toEqual(new Set([victim]))
      const report = await store.verify()
      expect(report.problems).toEqual([
        expect.objectContaining({ kind: 'value-checksum', where: `key "${victim}"`, key: victim }),
      ])
      expect(report.checked).toMatchObject({ keys: KEYS, events: KEYS, head: KEYS })
      // Everything else still reads, and rewriting the key repairs it.
      await store.commit((tx) => tx.put(victim, TypedValue.i64(1n)))
      expect(store.get(victim)?.asI64()).toBe(1n)
      expect((await store.verify()).ok).toBe(true)
    } finally {
      await store.close()
    }
  })

  it('a flipped bit in an event is CORRUPTION naming the event id, and verify() names it', async () => {
    const w = await writtenStore()
    expect(flipBit(w.dataFile, chunkRegions(w, 4), 12 + 20, 3)).toBeGreaterThan(0)
    const store = await openLmdbStore(w.dir)
    try {
      const e = thrown(() => store.getEvent(4))
      expect((e as { details: unknown }).details).toMatchObject({ where: 'event', eventId: 4 })
      const damaged = await checkAgainstModel(store, w)
      expect(damaged.events).toEqual(new Set([4]))
      const report = await store.verify()
      expect(report.problems).toEqual([
        expect.objectContaining({ kind: 'event-checksum', where: 'event 4', eventId: 4 }),
      ])
    } finally {
      await store.close()
    }
  })

  it('a flipped bit in a key is found by scans and verify(), under the name it now has', async () => {
    const w = await writtenStore()
    const victim = keyName(9)
    // 'acct-009' → 'acct-00;' (bit 1 of '9'): the entry now sits under another key.
    const flips = flipBit(
      w.dataFile,
      (data) => occurrences(data, Buffer.concat([Buffer.from(victim), w.values.get(victim)!])),
      7,
      1,
    )
    expect(flips).toBeGreaterThan(0)
    const store = await openLmdbStore(w.dir)
    try {
      expect(read(() => [...store.scan('acct-')])).toBe('CORRUPTION')
      expect(read(() => store.get('acct-00;'))).toBe('CORRUPTION')
      const report = await store.verify()
      expect(report.ok).toBe(false)
      expect(report.problems).toEqual([expect.objectContaining({ kind: 'value-checksum', key: 'acct-00;' })])
    } finally {
      await store.close()
    }
  })

  it('random single-bit flips in values and event chunks give CORRUPTION or the written data, never a wrong answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.record({
            what: fc.constant('value' as const),
            index: fc.nat(KEYS - 1),
            offset: fc.nat(12),
            bit: fc.nat(7),
          }),
          // An event chunk here: 12 bytes of header, then the envelope (about 40 bytes).
          fc.record({
            what: fc.constant('event' as const),
            index: fc.nat(KEYS - 1),
            offset: fc.nat(60),
            bit: fc.nat(7),
          }),
        ),
        async ({ what, index, offset, bit }) => {
          const w = await writtenStore()
          if (what === 'value') {
            flipBit(w.dataFile, valueRegions(w, keyName(index)), offset, bit)
          } else {
            const id = index + 1
            const size = 12 + w.events[index]!.length
            flipBit(w.dataFile, chunkRegions(w, id), offset % size, bit)
          }
          const store = await openDamaged(w.dir)
          // Only the last chunk is read by open (for the head): a damaged header there is CORRUPTION.
          if (store === 'CORRUPTION') {
            expect(what === 'event' && index === KEYS - 1).toBe(true)
            return
          }
          try {
            const damaged = await checkAgainstModel(store, w)
            // The flip hit the live copy: exactly the flipped key or event is damaged.
            if (what === 'value') expect([...damaged.keys]).toEqual([keyName(index)])
            else expect([...damaged.events]).toEqual([index + 1])
          } finally {
            await store.close()
          }
        },
      ),
      { numRuns: 30 },
    )
  }, 120_000)
})

/** A log whose records `damaged` fail their checksum when read, as the file log's do. */
class DamagedLog extends MemoryEventLog {
  damaged = new Set<number>()

  override *read(range: EventRange = {}): IterableIterator<EventRecord> {
    for (const record of super.read(range)) {
      if (this.damaged.has(record.id)) {
        throw new CorruptionError(`record ${record.id} fails its checksum`, { details: { id: record.id } })
      }
      yield record
    }
  }
}

describe('verify() with an external event log', () => {
  it('reads every event, names each unreadable one and goes on after it, and finds events missing below the head', async () => {
    const log = new DamagedLog()
    const store = await openLmdbStore(tempDir(), { eventLog: log })
    try {
      for (let i = 0; i < 6; i++) await store.commit((tx) => tx.appendEvent('e', i))
      expect(await store.verify()).toMatchObject({ ok: true, checked: { events: 6, head: 6 } })

      log.damaged = new Set([2, 3])
      const damaged = await store.verify()
      expect(damaged.checked.events).toBe(4)
      expect(damaged.problems).toEqual([
        expect.objectContaining({ kind: 'event-checksum', where: 'event 2', eventId: 2 }),
        expect.objectContaining({ kind: 'event-checksum', where: 'event 3', eventId: 3 }),
      ])

      log.damaged = new Set()
      log.records.length = 4
      const short = await store.verify()
      expect(short.problems).toEqual([expect.objectContaining({ kind: 'event-gap', eventId: 5 })])
      expect(short.problems[0]!.detail).toMatch('events 5 to 6 are missing')
    } finally {
      await store.close()
    }
  })
})

describe('verify() and close()', () => {
  it('a close() during a walk ends it with CLOSED and finishes; a closed store refuses verify() with CLOSED', async () => {
    const store = await openLmdbStore(tempDir(), { durability: 'relaxed' })
    // More entries than one slice of the walk, so it yields to the event loop at least once.
    await store.commit((tx) => {
      for (let i = 0; i < 10_000; i++) tx.put(`k-${String(i).padStart(5, '0')}`, TypedValue.i64(BigInt(i)))
    })
    const walk = store.verify()
    await store.close()
    expect(await codeOf(walk)).toBe('CLOSED')
    expect(await codeOf(store.verify())).toBe('CLOSED')
  })
})
