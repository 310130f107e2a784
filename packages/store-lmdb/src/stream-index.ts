import type { EventId, StreamInfo } from '@azothdb/core'
import { type StreamIndexEntry, type StreamIndexRange, utf8DecodeStrict } from '@azothdb/core/internal'
import {
  blockRuns,
  indexKey,
  readHeadEntry,
  readIndexEntry,
  type StreamDatabases,
  type StreamHead,
  type StreamRun,
  streamIndexCorrupt,
} from './stream-runs.js'

type Bytes = Uint8Array

const U64_MAX = (1n << 64n) - 1n

/**
 * The stream's last event among those with ids up to `maxId` (the head readers may see: a group
 * committed to LMDB but not yet durable is not visible yet), or undefined when there is none.
 */
export function visibleHead(
  dbs: StreamDatabases,
  name: Bytes,
  maxId: EventId,
): { version: bigint; id: EventId } | undefined {
  const head = readHeadEntry(dbs, name)
  if (head === undefined || head.id <= maxId) return head
  for (const entry of runEntries(dbs, name, head, { direction: 'backward', from: head.version }, maxId)) {
    return entry
  }
  return undefined
}

/** The key of the index entry holding `version` (the greatest key of the stream at or below it). */
function floorEntryKey(dbs: StreamDatabases, name: Bytes, version: bigint): Uint8Array | undefined {
  for (const key of dbs.index.getKeys({
    start: indexKey(name, version),
    end: indexKey(name, 0n),
    reverse: true,
    inclusiveEnd: true,
    limit: 1,
  })) {
    return Buffer.from(key)
  }
  return undefined
}

/**
 * The events of the stream named by `name` within `range`, one `{ version, id }` each, read from
 * its index entries and its head's open block, skipping none: forward stops at the first event
 * whose id is above `maxId`; backward starts below it. Runs are checked to follow each other
 * without gaps (`CORRUPTION` otherwise).
 */
export function indexEntries(
  dbs: StreamDatabases,
  name: Bytes,
  range: StreamIndexRange,
  maxId: EventId,
): Generator<StreamIndexEntry> | undefined {
  const head = readHeadEntry(dbs, name)
  return head === undefined ? undefined : runEntries(dbs, name, head, range, maxId)
}

/**
 * Consecutive events of a stream as the index holds them, clipped to a read's range: `count`
 * events from `version` and `id`, going up (forward) or down (backward) together.
 */
export interface RunSlice {
  readonly version: bigint
  readonly id: EventId
  readonly count: number
  readonly backward: boolean
}

function* runEntries(
  dbs: StreamDatabases,
  name: Bytes,
  head: StreamHead,
  range: StreamIndexRange,
  maxId: EventId,
): Generator<StreamIndexEntry> {
  for (const slice of runSlices(dbs, name, head, range, maxId)) {
    const step = slice.backward ? -1 : 1
    const bigStep = slice.backward ? -1n : 1n
    let version = slice.version
    for (let k = 0; k < slice.count; k++, version += bigStep) yield { version, id: slice.id + step * k }
  }
}

/**
 * The events of the stream within `range` as {@link RunSlice}s, in reading order, skipping none:
 * forward stops at the first event whose id is above `maxId`; backward starts below it. Runs are
 * checked to follow each other without gaps (`CORRUPTION` otherwise).
 */
export function* runSlices(
  dbs: StreamDatabases,
  name: Bytes,
  head: StreamHead,
  range: StreamIndexRange,
  maxId: EventId,
): Generator<RunSlice> {
  const backward = range.direction === 'backward'
  const low = backward ? (range.to ?? 0n) : (range.from ?? 0n)
  const high = backward ? (range.from ?? U64_MAX) : (range.to ?? U64_MAX)
  let left = range.maxCount ?? Number.POSITIVE_INFINITY
  if (low > high || left <= 0) return
  const where = `stream-index/${Buffer.from(name).toString('utf8')}`
  const block = head.blockStart
  // The highest version that exists: runs must reach it going backward, and from `low` to it going forward.
  const top = high < head.version ? high : head.version
  // Forward: the version the next run must start at; backward: the one the next (lower) run must end at.
  let expected: bigint | undefined
  for (const run of runsOf(dbs, name, head, block, low, high, backward, where)) {
    const last = run.version + BigInt(run.count) - 1n
    const gap =
      expected !== undefined
        ? (backward ? last : run.version) !== expected
        : backward
          ? last < top
          : run.version > low
    if (gap) {
      throw streamIndexCorrupt(
        where,
        `gap: expected version ${expected ?? (backward ? top : low)}, found a run ${run.version}..${last}`,
      )
    }
    if (backward) {
      expected = run.version - 1n
      const bottom = run.version > low ? run.version : low
      const from = last < high ? last : high
      if (from >= bottom) {
        // Ids grow with versions: those above `maxId` are the top of the run.
        const fromId = run.id + Number(from - run.version)
        const hidden = fromId > maxId ? fromId - maxId : 0
        const available = Number(from - bottom) + 1 - hidden
        if (available > 0) {
          const count = Math.min(available, left)
          yield { version: from - BigInt(hidden), id: fromId - hidden, count, backward }
          left -= count
          if (left <= 0) return
        }
      }
      if (run.version <= low) return
    } else {
      expected = last + 1n
      const upTo = last < high ? last : high
      const from = run.version > low ? run.version : low
      if (from <= upTo) {
        const fromId = run.id + Number(from - run.version)
        const wanted = Number(upTo - from) + 1
        const visible = maxId - fromId + 1
        const available = Math.min(visible, wanted)
        if (available > 0) {
          const count = Math.min(available, left)
          yield { version: from, id: fromId, count, backward }
          left -= count
          if (left <= 0) return
        }
        // An event above `maxId`: this one and everything after it is not visible yet.
        if (visible < wanted) return
      }
      if (last >= high) return
    }
  }
  // The runs ran out before the versions that exist did: entries are missing.
  const missing = backward
    ? expected === undefined
      ? low <= top
      : expected >= low
    : (expected ?? low) <= top
  if (missing) {
    throw streamIndexCorrupt(
      where,
      `gap: no run holds version ${backward ? (expected ?? top) : (expected ?? low)}`,
    )
  }
}

/**
 * The runs that may hold versions `low..high`, in reading order: forward, the index entries from
 * the one holding `low`, then the head's block; backward, the block (when `high` reaches it), then
 * the index entries from the one holding the highest version wanted down.
 */
function* runsOf(
  dbs: StreamDatabases,
  name: Bytes,
  head: StreamHead,
  block: bigint,
  low: bigint,
  high: bigint,
  backward: boolean,
  where: string,
): Generator<StreamRun> {
  if (backward) {
    // From the block down when it holds versions wanted; else from the entry holding `high`.
    if (high >= block) {
      const top = blockRuns(head)
      for (let i = top.length - 1; i >= 0; i--) yield top[i]!
      if (low >= block || block === 0n) return
    }
    const below = high < block ? high : block - 1n
    for (const { key, value } of dbs.index.getRange({
      start: indexKey(name, below),
      end: indexKey(name, 0n),
      reverse: true,
      inclusiveEnd: true,
    })) {
      const runs = readIndexEntry(key, value, name.length, where)
      for (let i = runs.length - 1; i >= 0; i--) yield runs[i]!
    }
    return
  }
  if (low < block) {
    // lmdb-js ranges exclude `end` unless told: both ends stay inside this stream's keys.
    for (const { key, value } of dbs.index.getRange({
      start: floorEntryKey(dbs, name, low) ?? indexKey(name, low),
      end: indexKey(name, high < block ? high : block - 1n),
      inclusiveEnd: true,
    })) {
      yield* readIndexEntry(key, value, name.length, where)
    }
  }
  yield* blockRuns(head)
}

/**
 * Streams whose names start with `prefix` (UTF-8 bytes), in name order, with the version of their
 * last event visible at `maxId`.
 */
export function* listStreams(dbs: StreamDatabases, prefix: Bytes, maxId: EventId): Generator<StreamInfo> {
  const start = Buffer.from(prefix)
  for (const { key } of dbs.heads.getRange({ start })) {
    if (key.length < prefix.length || Buffer.compare(key.subarray(0, prefix.length), start) !== 0) return
    const name = utf8DecodeStrict(key, 0, key.length)
    if (name === undefined) throw streamIndexCorrupt('stream-heads', 'a stream name is not valid UTF-8')
    const head = visibleHead(dbs, key, maxId)
    if (head !== undefined) yield { name, version: head.version }
  }
}
