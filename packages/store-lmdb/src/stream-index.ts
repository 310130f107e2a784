import { CorruptionError, type EventId, type StreamInfo } from '@azothdb/core'
import {
  crc32c,
  eventIdBytes,
  readEventId,
  type StreamIndexEntry,
  type StreamIndexRange,
  utf8DecodeStrict,
} from '@azothdb/core/internal'
import type { Database } from 'lmdb'

type Bytes = Uint8Array

/*
 * The per-stream index, in two named databases of the LMDB environment, written in the same LMDB
 * transaction as the events they index (for both event logs):
 *
 *   stream-index  key [u8 name length][name UTF-8][u64 BE version]  value [u64 BE global event id][u32 BE count]
 *   stream-heads  key [name UTF-8]                                  value [u64 BE last version][u64 BE its event id]
 *                                                                         [u32 BE CRC-32C of name ‖ the 16 bytes before]
 *
 * An index entry is a run: `count` events of one append, versions from the key's and consecutive
 * global ids from the value's (an append's events are consecutive in the log). Keys sort by name,
 * then version: a stream's runs are one contiguous key range, so reading N events of it is one range
 * read of at most N entries, one per append. Heads are keyed by the bare name, so streams of a
 * category (a name prefix) are one range of the heads database.
 *
 * A head decides whether an append's expected version holds, so a flipped bit in one would let an
 * append take a version already used: heads carry a checksum, checked on every read. Index entries
 * need none of their own: every event read through one is checked against the stream and version
 * its (checksummed) envelope names.
 */

/** The two LMDB databases of the stream index. */
export interface StreamDatabases {
  readonly index: Database<Bytes, Bytes>
  readonly heads: Database<Bytes, Bytes>
}

/** A stream's last event: its version and global id. */
export interface StreamHead {
  readonly version: bigint
  readonly id: EventId
}

const U64_MAX = (1n << 64n) - 1n

/** The index key of `version` in the stream named by `name` (its UTF-8 bytes). */
export function indexKey(name: Bytes, version: bigint): Buffer {
  const key = Buffer.allocUnsafe(1 + name.length + 8)
  key[0] = name.length
  key.set(name, 1)
  key.writeBigUInt64BE(version, 1 + name.length)
  return key
}

const HEAD_BYTES = 20

/** The value of the heads entry of the stream named by `name` (its UTF-8 bytes). */
export function headValue(name: Bytes, version: bigint, id: EventId): Buffer {
  const value = Buffer.allocUnsafe(HEAD_BYTES)
  value.writeBigUInt64BE(version, 0)
  value.set(eventIdBytes(id), 8)
  value.writeUInt32BE(crc32c(value, 0, 16, crc32c(name)), 16)
  return value
}

const INDEX_VALUE_BYTES = 12

/** The value of an index entry: the global id of its first event and how many events it holds. */
export function indexValue(id: EventId, count: number): Buffer {
  const value = Buffer.allocUnsafe(INDEX_VALUE_BYTES)
  value.set(eventIdBytes(id), 0)
  value.writeUInt32BE(count, 8)
  return value
}

function corrupt(where: string, reason: string): CorruptionError {
  return new CorruptionError(`the stream index is corrupt (${where}): ${reason}`, {
    details: { where, reason },
  })
}

function readId(value: Uint8Array, at: number, where: string): EventId {
  const id = readEventId(value, at)
  if (id < 1) throw corrupt(where, 'event id out of range')
  return id
}

/** The stream's last event as stored, or undefined when the stream has none. */
export function readHeadEntry(dbs: StreamDatabases, name: Bytes): StreamHead | undefined {
  const value = dbs.heads.getBinary(name)
  if (value === undefined) return undefined
  const where = `stream-heads/${Buffer.from(name).toString('utf8')}`
  if (value.length !== HEAD_BYTES) throw corrupt(where, `value is ${value.length} bytes, not ${HEAD_BYTES}`)
  if (value.readUInt32BE(16) !== crc32c(value, 0, 16, crc32c(name))) throw corrupt(where, 'checksum mismatch')
  return { version: value.readBigUInt64BE(0), id: readId(value, 8, where) }
}

/**
 * The stream's last event among those with ids up to `maxId` (the head readers may see: a group
 * committed to LMDB but not yet durable is not visible yet), or undefined when there is none.
 */
export function visibleHead(dbs: StreamDatabases, name: Bytes, maxId: EventId): StreamHead | undefined {
  const head = readHeadEntry(dbs, name)
  if (head === undefined || head.id <= maxId) return head
  for (const entry of indexEntries(dbs, name, { direction: 'backward', from: head.version }, maxId)) {
    return entry
  }
  return undefined
}

/** One index entry: `count` events of a stream from `version`, with consecutive ids from `id`. */
export interface StreamRun {
  readonly version: bigint
  readonly id: EventId
  readonly count: number
}

/** The run an index entry holds (`CORRUPTION` naming `where` when it is malformed). */
export function readRun(key: Uint8Array, value: Uint8Array, nameLength: number, where: string): StreamRun {
  if (key.length !== 1 + nameLength + 8 || value.length !== INDEX_VALUE_BYTES)
    throw corrupt(where, 'bad entry size')
  const version = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(1 + nameLength)
  const count = Buffer.from(value.buffer, value.byteOffset, value.byteLength).readUInt32BE(8)
  if (count < 1) throw corrupt(where, 'an entry of no events')
  return { version, id: readId(value, 0, where), count }
}

/** The key of the run holding `version` (the greatest key of the stream at or below it), if any. */
function floorRunKey(dbs: StreamDatabases, name: Bytes, version: bigint): Uint8Array | undefined {
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
 * its index entries (runs of consecutive versions and ids), skipping none: forward stops at the
 * first event whose id is above `maxId`; backward starts below it. Runs are checked to follow each
 * other without gaps (`CORRUPTION` otherwise).
 */
export function* indexEntries(
  dbs: StreamDatabases,
  name: Bytes,
  range: StreamIndexRange,
  maxId: EventId,
): Generator<StreamIndexEntry> {
  const backward = range.direction === 'backward'
  const low = backward ? (range.to ?? 0n) : (range.from ?? 0n)
  const high = backward ? (range.from ?? U64_MAX) : (range.to ?? U64_MAX)
  let left = range.maxCount ?? Number.POSITIVE_INFINITY
  if (low > high || left <= 0) return
  const where = `stream-index/${Buffer.from(name).toString('utf8')}`
  // A run may begin before the first version wanted: reading starts at the run holding it.
  // lmdb-js ranges exclude `end` unless told: both ends stay inside this stream's keys.
  const runs = backward
    ? dbs.index.getRange({
        start: indexKey(name, high),
        end: indexKey(name, 0n),
        reverse: true,
        inclusiveEnd: true,
      })
    : dbs.index.getRange({
        start: floorRunKey(dbs, name, low) ?? indexKey(name, low),
        end: indexKey(name, high),
        inclusiveEnd: true,
      })
  // Forward: the version the next run must start at; backward: the one the next (lower) run must end at.
  let expected: bigint | undefined
  for (const { key, value } of runs) {
    const run = readRun(key, value, name.length, where)
    const last = run.version + BigInt(run.count) - 1n
    if (
      expected !== undefined ? (backward ? last : run.version) !== expected : !backward && run.version > low
    ) {
      throw corrupt(where, `gap: expected version ${expected ?? low}, found a run ${run.version}..${last}`)
    }
    if (backward) {
      expected = run.version - 1n
      const bottom = run.version > low ? run.version : low
      for (let v = last < high ? last : high; v >= bottom; v--) {
        const id = run.id + Number(v - run.version)
        if (id > maxId) continue
        yield { version: v, id }
        if (--left <= 0) return
      }
      if (run.version <= low) return
    } else {
      expected = last + 1n
      const top = last < high ? last : high
      for (let v = run.version > low ? run.version : low; v <= top; v++) {
        const id = run.id + Number(v - run.version)
        if (id > maxId) return
        yield { version: v, id }
        if (--left <= 0) return
      }
      if (last >= high) return
    }
  }
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
    if (name === undefined) throw corrupt('stream-heads', 'a stream name is not valid UTF-8')
    const head = visibleHead(dbs, key, maxId)
    if (head !== undefined) yield { name, version: head.version }
  }
}
