import {
  ClosedError,
  decodeTypedValue,
  type EventId,
  type EventLog,
  isAzothError,
  type VerifyReport,
} from '@azothdb/core'
import { bytesEqual, eventIdBytes, keyToString, ProblemList, toError } from '@azothdb/core/internal'
import { Chunk, chunkKeyToId } from './event-chunks.js'
import { verifyIdempotency } from './idempotency-verify.js'
import type { StoreDatabases } from './store-databases.js'
import { verifyStreams } from './stream-verify.js'
import { checkedValueLength } from './value-checksum.js'

/** Entries (state entries or events) checked between two yields to the event loop. */
const SLICE = 4096

export interface VerifyTarget {
  readonly dbs: StoreDatabases
  readonly external: EventLog | undefined
  head(): EventId
  isClosed(): boolean
  /** The envelopes of `ids[0..count)` into `out`, as stream reads get them. */
  getEvents(ids: readonly EventId[], count: number, out: (Uint8Array | undefined)[]): void
}

/**
 * Walks every state entry and every event up to the head, checking each checksum, and reports what
 * is damaged instead of stopping at the first damage. The walk goes in slices of {@link SLICE}
 * entries, each in the read transaction current when it starts, yielding to the event loop between
 * slices, so commits go on meanwhile and no cursor is held across a yield (a `close()` meanwhile
 * ends the walk with `CLOSED`).
 */
export async function verifyStore(target: VerifyTarget): Promise<VerifyReport> {
  const problems = new ProblemList()
  const keys = await verifyState(target, problems)
  const head = target.head()
  const events =
    target.external === undefined
      ? await verifyChunks(target, head, problems)
      : await verifyExternal(target, target.external, head, problems)
  const idempotencyEntries = await verifyIdempotency(target.dbs.idempotency, problems, () =>
    nextSlice(target),
  )
  const streamEvents = await verifyStreams(
    {
      streams: target.dbs.streams,
      getMany: target.getEvents,
      oldest: () => target.external?.oldest() ?? 1,
      nextSlice: () => nextSlice(target),
    },
    head,
    problems,
  )
  return problems.report({ keys, events, head, idempotencyEntries, streamEvents })
}

async function nextSlice(target: VerifyTarget): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve))
  if (target.isClosed()) throw new ClosedError('the store')
}

function stateStats(target: VerifyTarget): { entries: number; txnId: number } {
  const state = target.dbs.state
  state.resetReadTxn()
  const stats = state.getStats() as { entryCount: number; lastTxnId: number }
  return { entries: stats.entryCount, txnId: stats.lastTxnId }
}

async function verifyState(target: VerifyTarget, problems: ProblemList): Promise<number> {
  const state = target.dbs.state
  const before = stateStats(target)
  let checked = 0
  let after: Buffer | undefined
  for (;;) {
    let inSlice = 0
    try {
      state.resetReadTxn()
      for (const { key, value } of state.getRange(after === undefined ? {} : { start: after })) {
        if (after !== undefined && inSlice === 0 && bytesEqual(key, after)) continue
        checkValue(key, value, problems)
        checked++
        after = Buffer.from(key)
        if (++inSlice >= SLICE) break
      }
    } catch (e) {
      problems.add({
        kind: 'unreadable',
        where: after === undefined ? 'state' : `state after key ${JSON.stringify(keyToString(after))}`,
        detail: `LMDB cannot walk the state further: ${toError(e).message}`,
      })
      return checked
    }
    if (inSlice < SLICE) break
    await nextSlice(target)
  }
  const now = stateStats(target)
  // Only comparable when no commit landed during the walk (LMDB's transaction id did not move).
  if (now.txnId === before.txnId && now.entries !== checked) {
    problems.add({
      kind: 'entry-count',
      where: 'state',
      detail: `LMDB counts ${now.entries} state entries but a walk of its tree found ${checked}: a page of the state is damaged`,
    })
  }
  return checked
}

function checkValue(key: Uint8Array, value: Uint8Array, problems: ProblemList): void {
  let n: number
  try {
    n = checkedValueLength(key, value)
  } catch (e) {
    const name = keyToString(new Uint8Array(key))
    const details = isAzothError(e) ? e.details : undefined
    problems.add({
      kind: 'value-checksum',
      where: `key ${JSON.stringify(name)}`,
      detail: `${toError(e).message} (stored ${value.length} bytes, checksum expected ${hex(details?.expected)}, actual ${hex(details?.actual)})`,
      key: name,
    })
    return
  }
  try {
    decodeTypedValue(value.subarray(0, n))
  } catch (e) {
    const name = keyToString(new Uint8Array(key))
    problems.add({
      kind: 'value-encoding',
      where: `key ${JSON.stringify(name)}`,
      detail: `the checksum matches but the value does not decode: ${toError(e).message}`,
      key: name,
    })
  }
}

function hex(n: unknown): string {
  return typeof n === 'number' ? `0x${n.toString(16).padStart(8, '0')}` : 'none'
}

/** The built-in log: every chunk parses, chunks follow each other without gaps up to `head`, every event's checksum matches. */
async function verifyChunks(target: VerifyTarget, head: EventId, problems: ProblemList): Promise<number> {
  const events = target.dbs.events
  let checked = 0
  let expected = 1
  let start: EventId = 1
  for (;;) {
    let inSlice = 0
    let sliceEnded = false
    try {
      events.resetReadTxn()
      for (const { key, value } of events.getRange({ start: Buffer.from(eventIdBytes(start)) })) {
        const firstId = safeChunkId(key, problems)
        if (firstId === undefined) continue
        if (firstId > head) break
        // After a chunk that cannot be parsed, where its events end is unknown: the next chunk's key says.
        if (expected === -1) expected = firstId
        if (firstId !== expected) {
          problems.add({
            kind: 'event-gap',
            where: `events from ${Math.min(expected, firstId)}`,
            detail:
              firstId > expected
                ? `events ${expected} to ${firstId - 1} are missing (the next chunk starts at ${firstId})`
                : `a chunk starts at ${firstId}, inside the events before it (expected ${expected})`,
            eventId: expected,
          })
        }
        let chunk: Chunk
        try {
          chunk = new Chunk(firstId, value)
        } catch (e) {
          problems.add({
            kind: 'event-chunk',
            where: `events from ${firstId}`,
            detail: `${toError(e).message}: its events cannot be located`,
            eventId: firstId,
          })
          expected = -1
          start = firstId + 1
          if (++inSlice >= SLICE) break
          continue
        }
        checked += checkChunkEvents(chunk, problems)
        expected = Math.max(expected, chunk.lastId + 1)
        start = firstId + 1
        inSlice += chunk.count
        if (inSlice >= SLICE) break
      }
      sliceEnded = inSlice < SLICE
    } catch (e) {
      problems.add({
        kind: 'unreadable',
        where: `events from ${expected}`,
        detail: `LMDB cannot walk the events further: ${toError(e).message}`,
        eventId: expected,
      })
      return checked
    }
    if (sliceEnded) break
    await nextSlice(target)
  }
  if (expected !== -1 && expected <= head) {
    problems.add({
      kind: 'event-gap',
      where: `events from ${expected}`,
      detail: `events ${expected} to ${head} are missing (the head is ${head})`,
      eventId: expected,
    })
  }
  return checked
}

function safeChunkId(key: Uint8Array, problems: ProblemList): EventId | undefined {
  try {
    return chunkKeyToId(key)
  } catch (e) {
    problems.add({
      kind: 'event-chunk',
      where: `events chunk key 0x${Buffer.from(key).toString('hex')}`,
      detail: toError(e).message,
    })
    return undefined
  }
}

/**
 * Checks every event of `chunk`, as many at a time as one bulk call proves intact; each event it
 * stops at is checked alone (and named when damaged), and the walk goes on after it.
 */
function checkChunkEvents(chunk: Chunk, problems: ProblemList): number {
  let i = 0
  while (i < chunk.count) {
    i = chunk.verify(i, chunk.count)
    if (i < chunk.count) checkEvent(chunk, i++, problems)
  }
  return chunk.count
}

function checkEvent(chunk: Chunk, index: number, problems: ProblemList): void {
  try {
    chunk.event(index)
  } catch (e) {
    const id = chunk.firstId + index
    const details = isAzothError(e) ? e.details : undefined
    problems.add({
      kind: 'event-checksum',
      where: `event ${id}`,
      detail: `${toError(e).message} (checksum expected ${hex(details?.expected)}, actual ${hex(details?.actual)})`,
      eventId: id,
    })
  }
}

/**
 * An external log (the file log checks each record's checksum as it reads it): every id from 1 to
 * `head` is read, in order and without gaps. A read that fails names the id it failed at; the walk
 * then looks for the first id after it that reads again (a log may be unable to read past a damaged
 * record: the file log reads a segment in order), reports the ids between as unreadable, and goes on.
 */
async function verifyExternal(
  target: VerifyTarget,
  log: EventLog,
  head: EventId,
  problems: ProblemList,
): Promise<number> {
  let checked = 0
  let next = 1
  while (next <= head) {
    const from = next
    try {
      for (const record of log.read({ from: next, to: head, limit: SLICE })) {
        if (record.id !== next) {
          problems.add({
            kind: 'event-gap',
            where: `event ${next}`,
            detail: `the event log returned event ${record.id} where event ${next} belongs`,
            eventId: next,
          })
          if (record.id < next) throw new Error(`the log went back from ${next} to ${record.id}`)
        }
        next = record.id + 1
        checked++
      }
    } catch (e) {
      problems.add({
        kind: isAzothError(e, 'CORRUPTION') ? 'event-checksum' : 'unreadable',
        where: `event ${next}`,
        detail: `the event log cannot read event ${next}: ${toError(e).message}`,
        eventId: next,
      })
      const readable = firstReadable(log, next + 1, head, toError(e).message)
      if (readable > next + 1) {
        problems.add({
          kind: 'unreadable',
          where: `events ${next + 1} to ${readable - 1}`,
          detail: `the event log cannot read past event ${next}: ${readable - next - 1} events after it were not checked`,
          eventId: next + 1,
        })
      }
      next = readable
      await nextSlice(target)
      continue
    }
    if (next === from) {
      problems.add({
        kind: 'event-gap',
        where: `events from ${next}`,
        detail: `the event log ends before event ${next}, but the head is ${head}: events ${next} to ${head} are missing`,
        eventId: next,
      })
      return checked
    }
    if (next <= head) await nextSlice(target)
  }
  return checked
}

/** False when reading `id` fails with the same error as the damage before it (it cannot be read past). */
function readsAt(log: EventLog, id: EventId, blockedBy: string): boolean {
  try {
    for (const _ of log.read({ from: id, to: id, limit: 1 })) return true
    return true // absent: a gap, which the walk reports when it gets there
  } catch (e) {
    // Another error is damage of its own, which the walk reports when it gets there.
    return toError(e).message !== blockedBy
  }
}

/**
 * The first id in `[from, head + 1]` from which the log reads again (or fails otherwise than with
 * `blockedBy`), probing at growing distances and then bisecting: O(log n) reads, assuming (as in
 * a log read in order) that once a read gets past the damage the ids after it do too.
 */
function firstReadable(log: EventLog, from: EventId, head: EventId, blockedBy: string): EventId {
  let bad = from - 1
  let step = 1
  let good = head + 1
  for (let probe = from; probe <= head; probe = bad + step) {
    if (readsAt(log, probe, blockedBy)) {
      good = probe
      break
    }
    bad = probe
    step *= 2
  }
  while (good - bad > 1) {
    const mid = bad + Math.floor((good - bad) / 2)
    if (readsAt(log, mid, blockedBy)) good = mid
    else bad = mid
  }
  return good
}
