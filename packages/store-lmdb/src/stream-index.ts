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
 *   stream-index  key [u8 name length][name UTF-8][u64 BE version]  value [u64 BE global event id]
 *   stream-heads  key [name UTF-8]                                  value [u64 BE last version][u64 BE its event id]
 *                                                                         [u32 BE CRC-32C of name ‖ the 16 bytes before]
 *
 * Index keys sort by name, then version: a stream's events are one contiguous key range, so reading
 * N events of it is one range read of N entries. Heads are keyed by the bare name, so streams of a
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

/** The value of an index entry: the event's global id. */
export function indexValue(id: EventId): Buffer {
  return Buffer.from(eventIdBytes(id))
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

/**
 * Index entries of the stream named by `name` within `range`, skipping none: forward stops at the
 * first entry whose id is above `maxId`; backward starts below it. Entries are checked to be
 * gapless (`CORRUPTION` otherwise).
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
  const lowKey = indexKey(name, low)
  const highKey = indexKey(name, high)
  // lmdb-js ranges exclude `end`: a forward range ends past `high`, a backward one below `low`.
  const entries = backward
    ? dbs.index.getRange({ start: highKey, end: lowKey, reverse: true, inclusiveEnd: true })
    : dbs.index.getRange({ start: lowKey, end: highKey, inclusiveEnd: true })
  let expected: bigint | undefined
  for (const { key, value } of entries) {
    if (key.length !== 1 + name.length + 8 || value.length !== 8) throw corrupt(where, 'bad entry size')
    const version = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(1 + name.length)
    if (expected !== undefined && version !== expected) {
      throw corrupt(where, `gap: expected version ${expected}, found ${version}`)
    }
    expected = backward ? version - 1n : version + 1n
    const id = readId(value, 0, where)
    if (id > maxId) {
      if (backward) continue
      return
    }
    yield { version, id }
    if (--left <= 0) return
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
