import { type CommitResult, CorruptionError } from '@azothdb/core'
import { crc32c, readEventId, utf8DecodeStrict, writeEventId } from '@azothdb/core/internal'
import { decodeResult } from './idempotency-result.js'
import { checkedValueLength, VALUE_CHECKSUM_BYTES } from './value-checksum.js'

/*
 * The `idempotency` database holds two kinds of entries, written in the same LMDB transaction as
 * the commit whose key they record:
 *
 *   record  key [0x01][key UTF-8]  value [u8 1][u64 seq][f64 at][u64 first event id, 0: none]
 *                                        [u32 events][u32 keys written][u32 keys deleted]
 *                                        [u16 operation length][operation UTF-8][result] + CRC-32C
 *   order   key [0x00][u64 seq]    value [f64 at][u32 count]([u8 key length][key UTF-8])... + CRC-32C
 *
 * `seq` numbers the keys in the order they were stored (the count window) and `at` is the commit's
 * time on the database clock (the age window). One order entry lists the keys a group commit
 * stored, from `seq` on (one write per group, not per key). Order entries sort before records and
 * by seq, so the oldest keys are one range at the front of the database: expiry reads only what it
 * removes.
 * The result is the write function's return value (idempotency-result.ts). Both carry a CRC-32C
 * of the entry's key and value, as state values do.
 */

/** The first byte of a record's key. */
export const RECORD_PREFIX = 0x01
const RECORD = RECORD_PREFIX
const ORDER = 0x00
const FORMAT = 1
/** Bytes of a record before its operation: format, seq, at, first id, three counts, operation length. */
const RECORD_HEAD = 1 + 8 + 8 + 8 + 4 + 4 + 4 + 2

/** The key of the record of an idempotency key (its UTF-8 bytes). */
export function recordKey(key: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(1 + key.length)
  out[0] = RECORD
  out.set(key, 1)
  return out
}

/** The key of the order entry whose first key is the `seq`-th key stored. */
export function orderKey(seq: number): Buffer {
  const out = Buffer.allocUnsafe(9)
  out[0] = ORDER
  writeEventId(out, 1, seq)
  return out
}

/** A key below every order entry: a reverse range ends before its `end`, so it cannot be the first entry's key. */
export const ORDER_START = Buffer.from([ORDER])

/** The first key past every order entry (where records begin). */
export const ORDER_END = Buffer.from([RECORD])

/** A stored record: when and in which order its key was stored, for what, and the commit's result. */
export interface IdempotencyRecord {
  readonly seq: number
  readonly at: number
  readonly operation: string
  readonly outcome: CommitResult<unknown>
}

/** `body` with its first `n` bytes sealed: their CRC-32C, seeded with the entry's key, after them. */
function seal(key: Uint8Array, body: Buffer, n: number): Buffer {
  body.writeUInt32BE(crc32c(body, 0, n, crc32c(key)), n)
  return body
}

/** The stored value of a record; `operationLength` is the UTF-8 length of `operation`. */
export function encodeRecord(
  key: Buffer,
  seq: number,
  at: number,
  operation: string,
  operationLength: number,
  outcome: CommitResult<unknown>,
  result: Uint8Array | undefined,
): Buffer {
  const n = RECORD_HEAD + operationLength + (result?.length ?? 0)
  const body = Buffer.allocUnsafe(n + VALUE_CHECKSUM_BYTES)
  body[0] = FORMAT
  writeEventId(body, 1, seq)
  body.writeDoubleBE(at, 9)
  writeEventId(body, 17, outcome.firstEventId ?? 0)
  body.writeUInt32BE(outcome.eventsWritten, 25)
  body.writeUInt32BE(outcome.stateKeysWritten, 29)
  body.writeUInt32BE(outcome.stateKeysDeleted, 33)
  body.writeUInt16BE(operationLength, 37)
  if (operationLength > 0) body.write(operation, RECORD_HEAD, 'utf8')
  if (result !== undefined) body.set(result, RECORD_HEAD + operationLength)
  return seal(key, body, n)
}

function corrupt(key: Uint8Array, reason: string): CorruptionError {
  const where = `idempotency/${Buffer.from(key.subarray(1)).toString('utf8')}`
  return new CorruptionError(`an idempotency record is corrupt (${where}): ${reason}`, {
    details: { where, reason },
  })
}

/** Decodes a record read under `key` (stored bytes; its checksum is checked here). */
export function decodeRecord(key: Uint8Array, stored: Uint8Array): IdempotencyRecord {
  const n = checkedValueLength(key, stored)
  if (n < RECORD_HEAD || stored[0] !== FORMAT) throw corrupt(key, 'unknown format or too short')
  const view = Buffer.from(stored.buffer, stored.byteOffset, n)
  const opLength = view.readUInt16BE(37)
  if (RECORD_HEAD + opLength > n) throw corrupt(key, 'operation runs past the record')
  const operation = utf8DecodeStrict(view, RECORD_HEAD, RECORD_HEAD + opLength)
  if (operation === undefined) throw corrupt(key, 'operation is not UTF-8')
  const first = readEventId(view, 17)
  const events = view.readUInt32BE(25)
  let result: unknown
  if (RECORD_HEAD + opLength < n) {
    try {
      result = decodeResult(view.subarray(RECORD_HEAD + opLength, n))
    } catch (e) {
      throw corrupt(key, `result cannot be read: ${(e as Error).message}`)
    }
  }
  return {
    seq: readEventId(view, 1),
    at: view.readDoubleBE(9),
    operation,
    outcome: {
      firstEventId: first === 0 ? undefined : first,
      lastEventId: first === 0 ? undefined : first + events - 1,
      eventsWritten: events,
      stateKeysWritten: view.readUInt32BE(29),
      stateKeysDeleted: view.readUInt32BE(33),
      result,
      duplicate: true,
    },
  }
}

/** The seq of a record's stored bytes, its checksum checked. */
export function recordSeq(key: Uint8Array, stored: Uint8Array): number {
  const n = checkedValueLength(key, stored)
  if (n < RECORD_HEAD || stored[0] !== FORMAT) throw corrupt(key, 'unknown format or too short')
  return readEventId(stored, 1)
}

/** The stored value of an order entry listing `keys` (UTF-8 bytes, at most 255 each). */
export function encodeOrder(key: Buffer, at: number, keys: readonly Uint8Array[]): Buffer {
  let size = 12
  for (const k of keys) size += 1 + k.length
  const body = Buffer.allocUnsafe(size + VALUE_CHECKSUM_BYTES)
  body.writeDoubleBE(at, 0)
  body.writeUInt32BE(keys.length, 8)
  let offset = 12
  for (const k of keys) {
    body[offset] = k.length
    body.set(k, offset + 1)
    offset += 1 + k.length
  }
  return seal(key, body, size)
}

/** An order entry: the seq of its first key, when its keys were stored, and their records' keys. */
export interface OrderEntry {
  readonly seq: number
  readonly at: number
  readonly records: Buffer[]
}

/** Decodes an order entry (stored key and value; the checksum is checked). */
export function decodeOrder(key: Uint8Array, stored: Uint8Array): OrderEntry {
  const n = checkedValueLength(key, stored)
  if (key.length !== 9 || n < 12) throw corrupt(key, 'order entry of a wrong size')
  const view = Buffer.from(stored.buffer, stored.byteOffset, n)
  const count = view.readUInt32BE(8)
  const records: Buffer[] = []
  let offset = 12
  for (let i = 0; i < count; i++) {
    const length = offset < n ? view[offset]! : -1
    if (length < 1 || offset + 1 + length > n) throw corrupt(key, 'order entry lists a key past its end')
    records.push(recordKey(view.subarray(offset + 1, offset + 1 + length)))
    offset += 1 + length
  }
  if (offset !== n) throw corrupt(key, 'order entry has bytes past its keys')
  return { seq: readEventId(key, 1), at: view.readDoubleBE(0), records }
}
