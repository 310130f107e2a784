import { deserialize, serialize } from 'node:v8'
import { AzothError, type CommitResult, CorruptionError } from '@azothdb/core'
import { readEventId, utf8DecodeStrict, utf8Encode, writeEventId } from '@azothdb/core/internal'
import { checkedValueLength, sealValue } from './value-checksum.js'

/*
 * The `idempotency` database holds two kinds of entries, written in the same LMDB transaction as
 * the commit whose key they record:
 *
 *   record  key [0x01][key UTF-8]  value [u8 1][u64 seq][f64 at][u64 first event id, 0: none]
 *                                        [u32 events][u32 keys written][u32 keys deleted]
 *                                        [u16 operation length][operation UTF-8][result] + CRC-32C
 *   order   key [0x00][u64 seq]    value [f64 at][key UTF-8] + CRC-32C
 *
 * `seq` numbers the keys in the order they were stored (the count window) and `at` is the commit's
 * time on the database clock (the age window). Order entries sort before records and by seq, so
 * the oldest keys are one range at the front of the database: expiry reads only what it removes.
 * The result is empty for `undefined`, else the write function's return value as V8's structured
 * serialisation (bigints, Maps, Dates and typed arrays come back as they were).
 */

const RECORD = 0x01
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

/** The key of the order entry of the `seq`-th key stored. */
export function orderKey(seq: number): Buffer {
  const out = Buffer.allocUnsafe(9)
  out[0] = ORDER
  writeEventId(out, 1, seq)
  return out
}

/** The first key past every order entry (where records begin). */
export const ORDER_END = Buffer.from([RECORD])

/** A stored record: when and in which order its key was stored, for what, and the commit's result. */
export interface IdempotencyRecord {
  readonly seq: number
  readonly at: number
  readonly operation: string
  readonly outcome: CommitResult<unknown>
}

/**
 * The result bytes of a commit under an idempotency key: a retry gets them back, so a value that
 * cannot be serialised (a function, a class's private state) refuses the commit (`INVALID_ARGUMENT`).
 */
export function encodeResult(result: unknown): Uint8Array | undefined {
  if (result === undefined) return undefined
  try {
    return serialize(result)
  } catch (e) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      'a commit with an idempotency key must return a value that can be stored (structured-cloneable: no functions or symbols), because a retry gets it back',
      { cause: e },
    )
  }
}

/** The stored value of a record. */
export function encodeRecord(
  key: Buffer,
  seq: number,
  at: number,
  operation: Uint8Array,
  outcome: CommitResult<unknown>,
  result: Uint8Array | undefined,
): Uint8Array {
  const body = Buffer.allocUnsafe(RECORD_HEAD + operation.length + (result?.length ?? 0))
  body[0] = FORMAT
  writeEventId(body, 1, seq)
  body.writeDoubleBE(at, 9)
  writeEventId(body, 17, outcome.firstEventId ?? 0)
  body.writeUInt32BE(outcome.eventsWritten, 25)
  body.writeUInt32BE(outcome.stateKeysWritten, 29)
  body.writeUInt32BE(outcome.stateKeysDeleted, 33)
  body.writeUInt16BE(operation.length, 37)
  body.set(operation, RECORD_HEAD)
  if (result !== undefined) body.set(result, RECORD_HEAD + operation.length)
  return sealValue(key, body)
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
      result = deserialize(view.subarray(RECORD_HEAD + opLength, n))
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

/** The stored value of an order entry. */
export function encodeOrder(key: Buffer, at: number, idempotencyKey: Uint8Array): Uint8Array {
  const body = Buffer.allocUnsafe(8 + idempotencyKey.length)
  body.writeDoubleBE(at, 0)
  body.set(idempotencyKey, 8)
  return sealValue(key, body)
}

/** An order entry: the seq it is at, when its key was stored, and the record's key. */
export interface OrderEntry {
  readonly seq: number
  readonly at: number
  readonly record: Buffer
}

/** Decodes an order entry (stored key and value; the checksum is checked). */
export function decodeOrder(key: Uint8Array, stored: Uint8Array): OrderEntry {
  const n = checkedValueLength(key, stored)
  if (key.length !== 9 || n < 9) throw corrupt(key, 'order entry of a wrong size')
  const view = Buffer.from(stored.buffer, stored.byteOffset, n)
  return { seq: readEventId(key, 1), at: view.readDoubleBE(0), record: recordKey(view.subarray(8, n)) }
}

/** The UTF-8 bytes of an operation name (at most 1 KiB); `INVALID_ARGUMENT` otherwise. */
export function operationBytes(operation: unknown): Uint8Array {
  if (operation === undefined) return new Uint8Array(0)
  if (typeof operation === 'string' && operation.isWellFormed()) {
    const bytes = utf8Encode(operation)
    if (bytes.length <= 1024) return bytes
  }
  throw new AzothError(
    'INVALID_ARGUMENT',
    'a commit operation must be a well-formed string of at most 1 KiB',
    {
      details: { argument: 'operation' },
    },
  )
}
