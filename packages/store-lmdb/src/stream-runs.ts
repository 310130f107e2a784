import { CorruptionError, type EventId } from '@azothdb/core'
import { crc32c, readEventId, writeEventId } from '@azothdb/core/internal'
import type { Database } from 'lmdb'

type Bytes = Uint8Array

/*
 * The per-stream index, in two named databases of the LMDB environment, written in the same LMDB
 * transaction as the events they index (for both event logs):
 *
 *   stream-heads  key [name UTF-8]
 *                 value [u64 BE last version][u64 BE its event id][runs of the open block]
 *                       [u32 BE CRC-32C of name ‖ every byte before]
 *   stream-index  key [u8 name length][name UTF-8][u64 BE first version]
 *                 value [runs]
 *
 * A run is `[u64 BE first event id][u32 BE count]`: `count` events of consecutive versions and
 * consecutive global ids (an append's events are consecutive in the log, and so are the events of
 * appends that follow each other in the log). The runs of an entry follow each other in version
 * order; the first starts at the entry's version. The head's runs (its "open block", at most
 * HEAD_BLOCK_RUNS) are the stream's latest events, ending at the head's version; everything
 * before them is in the index.
 *
 * Why a block in the head: an index entry per append put each append's key at the end of its
 * stream's key range, so a group commit of appends to N streams inserted into N leaf pages of the
 * index, which LMDB copies and writes; the head is updated by every append anyway. Appends now add
 * their run to the head, and the index gets one entry per HEAD_BLOCK_RUNS + 1 runs of a stream.
 * Reading N events of a stream is still one range of the index (at most one entry per 16 appends)
 * plus the head. Heads are keyed by the bare name, so streams of a category are one range.
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

/** Runs a head holds before they move to the index in one entry. */
export const HEAD_BLOCK_RUNS = 16

/** One run: `count` events of a stream from `version`, with consecutive ids from `id`. */
export interface StreamRun {
  readonly version: bigint
  readonly id: EventId
  readonly count: number
}

/** A stream's last event (its version and global id) and its open block, checked but not parsed. */
export interface StreamHead {
  readonly version: bigint
  readonly id: EventId
  /** The open block's runs as stored (12 bytes each), oldest first. */
  readonly block: Uint8Array
  /** The version of the block's first event (the head's version + 1 when it is empty). */
  readonly blockStart: bigint
}

const RUN_BYTES = 12
const HEAD_FIXED = 16
const MAX_RUN_EVENTS = 0xffff_ffff
const NO_BYTES = new Uint8Array(0)
const SAFE_VERSION = BigInt(Number.MAX_SAFE_INTEGER)

/** The index key of `version` in the stream named by `name` (its UTF-8 bytes). */
export function indexKey(name: Bytes, version: bigint): Buffer {
  const key = Buffer.allocUnsafe(1 + name.length + 8)
  key[0] = name.length
  key.set(name, 1)
  key.writeBigUInt64BE(version, 1 + name.length)
  return key
}

/** Fills in the last version, its id and the checksum of a head value whose block is in place. */
function sealHead(value: Buffer, name: Bytes, version: bigint, id: EventId): Buffer {
  // Byte stores for the version whenever it fits a number: Buffer's BigInt write costs more than
  // the rest of a head's fixed part.
  if (version <= SAFE_VERSION) writeEventId(value, 0, Number(version))
  else value.writeBigUInt64BE(version, 0)
  writeEventId(value, 8, id)
  const end = value.length - 4
  writeU32(value, end, crc32c(value, 0, end, crc32c(name)))
  return value
}

/** Big-endian u32 by byte stores (Buffer's writeUInt32BE checks its arguments on every call). */
function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24
  out[at + 1] = (n >>> 16) & 0xff
  out[at + 2] = (n >>> 8) & 0xff
  out[at + 3] = n & 0xff
}

/**
 * Adds `count` events from version `version` and id `id` to `runs` (a stream's latest runs, which
 * it must follow): one more run, or a longer last run when the ids go on from it.
 */
export function addRun(runs: StreamRun[], version: bigint, id: EventId, count: number): void {
  const last = runs[runs.length - 1]
  if (last !== undefined && last.id + last.count === id && last.count + count <= MAX_RUN_EVENTS) {
    runs[runs.length - 1] = { version: last.version, id: last.id, count: last.count + count }
  } else runs.push({ version, id, count })
}

/**
 * A committed head as the writer keeps it: the open block's runs as numbers (`[id, count, id,
 * count, ...]`), so a head kept for later appends holds no buffer.
 */
export interface WriterHead {
  readonly version: bigint
  readonly id: EventId
  readonly runs: readonly number[]
  readonly blockStart: bigint
}

/** `head` as the writer keeps it. */
export function writerHead(head: StreamHead): WriterHead {
  const { block } = head
  const view = Buffer.from(block.buffer, block.byteOffset, block.byteLength)
  const runs: number[] = []
  for (let at = 0; at < block.length; at += RUN_BYTES)
    runs.push(readEventId(view, at), view.readUInt32BE(at + 8))
  return { version: head.version, id: head.id, runs, blockStart: head.blockStart }
}

/** What a group writes for one stream: its new head, and an index entry when its block filled up. */
export interface StreamWrites {
  /** The new head's value, and the head it holds. */
  readonly value: Buffer
  readonly head: WriterHead
  readonly entry: readonly [key: Buffer, value: Buffer] | undefined
}

const NO_RUNS: readonly number[] = []

/**
 * A stream's writes after a group appended `runs` (oldest first, at least one) to it: they join
 * the committed open block (`head`'s, or none for a new stream), the first extending its last run
 * when the ids go on from it. A block of more than HEAD_BLOCK_RUNS runs moves to one index entry
 * keyed by its first version, and the head keeps an empty block.
 */
export function streamWrites(
  name: Bytes,
  head: WriterHead | undefined,
  runs: readonly StreamRun[],
): StreamWrites {
  const block = head === undefined ? [] : head.runs.slice()
  for (const run of runs) {
    const n = block.length
    if (n > 0 && block[n - 2]! + block[n - 1]! === run.id && block[n - 1]! + run.count <= MAX_RUN_EVENTS) {
      block[n - 1]! += run.count
    } else block.push(run.id, run.count)
  }
  const last = runs[runs.length - 1]!
  const version = last.count === 1 ? last.version : last.version + BigInt(last.count - 1)
  const id = last.id + last.count - 1
  const start = head === undefined ? runs[0]!.version : head.blockStart
  const total = block.length / 2
  if (total > HEAD_BLOCK_RUNS) {
    const entry = Buffer.allocUnsafe(RUN_BYTES * total)
    writeRunNumbers(entry, 0, block)
    return {
      value: sealHead(Buffer.allocUnsafe(HEAD_FIXED + 4), name, version, id),
      head: { version, id, runs: NO_RUNS, blockStart: version + 1n },
      entry: [indexKey(name, start), entry],
    }
  }
  const value = Buffer.allocUnsafe(HEAD_FIXED + RUN_BYTES * total + 4)
  writeRunNumbers(value, HEAD_FIXED, block)
  return {
    value: sealHead(value, name, version, id),
    head: { version, id, runs: block, blockStart: start },
    entry: undefined,
  }
}

function writeRunNumbers(out: Buffer, at: number, runs: readonly number[]): void {
  for (let i = 0; i < runs.length; i += 2, at += RUN_BYTES) {
    writeEventId(out, at, runs[i]!)
    writeU32(out, at + 8, runs[i + 1]!)
  }
}

export function streamIndexCorrupt(where: string, reason: string): CorruptionError {
  return new CorruptionError(`the stream index is corrupt (${where}): ${reason}`, {
    details: { where, reason },
  })
}

/** The runs of `value` from byte `at` to `end`, the first at `version` (checked when read). */
function readRuns(value: Uint8Array, at: number, end: number, version: bigint): StreamRun[] {
  const view = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  const runs: StreamRun[] = []
  for (; at < end; at += RUN_BYTES) {
    const count = view.readUInt32BE(at + 8)
    runs.push({ version, id: readEventId(view, at), count })
    version += BigInt(count)
  }
  return runs
}

/**
 * Checks the runs of `value` from byte `at` to `end`: each of at least one event, with ids of at
 * least 1 that rise. Returns how many events they hold, or what is wrong.
 */
function checkRuns(value: Uint8Array, at: number, end: number): number | string {
  const view = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  let events = 0
  let next = 1
  for (; at < end; at += RUN_BYTES) {
    const id = readEventId(view, at)
    const count = view.readUInt32BE(at + 8)
    if (id < next) return id < 1 ? 'event id out of range' : 'event ids do not rise'
    if (count < 1) return 'a run of no events'
    events += count
    next = id + count
  }
  return events
}

/** The runs an index entry holds (`CORRUPTION` naming `where` when it is malformed). */
export function readIndexEntry(
  key: Uint8Array,
  value: Uint8Array,
  nameLength: number,
  where: string,
): StreamRun[] {
  if (key.length !== 1 + nameLength + 8 || value.length === 0 || value.length % RUN_BYTES !== 0)
    throw streamIndexCorrupt(where, 'bad entry size')
  const checked = checkRuns(value, 0, value.length)
  if (typeof checked === 'string') throw streamIndexCorrupt(where, checked)
  const version = Buffer.from(key.buffer, key.byteOffset, key.byteLength).readBigUInt64BE(1 + nameLength)
  return readRuns(value, 0, value.length, version)
}

/** The stream's head as stored, checksum checked, or undefined when the stream has none. */
export function readHeadEntry(dbs: StreamDatabases, name: Bytes): StreamHead | undefined {
  const value = dbs.heads.getBinary(name)
  return value === undefined ? undefined : parseHead(name, value)
}

/** The head stored as `value` for the stream named by `name` (`CORRUPTION` when damaged). */
export function parseHead(name: Bytes, value: Uint8Array): StreamHead {
  const end = value.length - 4
  if (end < HEAD_FIXED || (end - HEAD_FIXED) % RUN_BYTES !== 0)
    throw streamIndexCorrupt(headWhere(name), `value is ${value.length} bytes`)
  const view = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (view.readUInt32BE(end) !== crc32c(value, 0, end, crc32c(name)))
    throw streamIndexCorrupt(headWhere(name), 'checksum mismatch')
  const version = view.readBigUInt64BE(0)
  const id = readEventId(view, 8)
  if (id < 1) throw streamIndexCorrupt(headWhere(name), 'event id out of range')
  if (end === HEAD_FIXED) return { version, id, block: NO_BYTES, blockStart: version + 1n }
  const events = checkRuns(value, HEAD_FIXED, end)
  if (typeof events === 'string') throw streamIndexCorrupt(headWhere(name), events)
  if (BigInt(events) > version + 1n)
    throw streamIndexCorrupt(headWhere(name), 'its block holds more events than the stream')
  const lastEnd = readEventId(view, end - RUN_BYTES) + view.readUInt32BE(end - 4) - 1
  if (lastEnd !== id)
    throw streamIndexCorrupt(headWhere(name), `its block ends at event ${lastEnd}, not at its event ${id}`)
  return { version, id, block: value.subarray(HEAD_FIXED, end), blockStart: version + 1n - BigInt(events) }
}

function headWhere(name: Bytes): string {
  return `stream-heads/${Buffer.from(name).toString('utf8')}`
}

/** The runs of the head's open block, oldest first. */
export function blockRuns(head: StreamHead): StreamRun[] {
  return readRuns(head.block, 0, head.block.length, head.blockStart)
}
