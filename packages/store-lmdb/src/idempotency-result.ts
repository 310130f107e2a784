import { deserialize, serialize } from 'node:v8'
import { AzothError } from '@azothdb/core'

/*
 * The stored form of a write function's return value under an idempotency key: nothing for
 * `undefined`; else a kind byte, then
 *   1  V8's structured serialisation (bigints, Maps, Dates, typed arrays come back as they were);
 *   2  a flat object of primitives (what stream appends and most commands return), written field by
 *      field: [u8 fields]([u8 name length][name UTF-8][u8 type][value])...
 *      types: 0 undefined, 1 null, 2 false, 3 true, 4 f64, 5 i64 bigint, 6 string [u32 length][UTF-8].
 * The flat form spares the V8 serialiser, whose setup costs several microseconds per commit.
 */

const V8 = 1
const FLAT = 2
const MAX_FLAT_FIELDS = 32
const I64_MIN = -(1n << 63n)
const I64_MAX = (1n << 63n) - 1n

/** The names of `value`'s fields when it is a flat object of primitives, else undefined. */
function flatFields(value: unknown): string[] | undefined {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return undefined
  }
  const names = Object.keys(value)
  if (names.length > MAX_FLAT_FIELDS) return undefined
  for (const name of names) {
    if (Buffer.byteLength(name) > 255) return undefined
    const v = (value as Record<string, unknown>)[name]
    const t = typeof v
    if (
      t === 'bigint'
        ? (v as bigint) < I64_MIN || (v as bigint) > I64_MAX
        : t === 'object'
          ? v !== null
          : t === 'function' || t === 'symbol'
    ) {
      return undefined
    }
  }
  return names
}

function encodeFlat(value: Record<string, unknown>, names: string[]): Uint8Array {
  let size = 2
  for (const name of names) {
    const v = value[name]
    size += 2 + Buffer.byteLength(name)
    if (typeof v === 'number' || typeof v === 'bigint') size += 8
    else if (typeof v === 'string') size += 4 + Buffer.byteLength(v)
  }
  const out = Buffer.allocUnsafe(size)
  out[0] = FLAT
  out[1] = names.length
  let at = 2
  for (const name of names) {
    const n = out.write(name, at + 1, 'utf8')
    out[at] = n
    at += 1 + n
    const v = value[name]
    if (v === undefined) out[at++] = 0
    else if (v === null) out[at++] = 1
    else if (typeof v === 'boolean') out[at++] = v ? 3 : 2
    else if (typeof v === 'number') {
      out[at] = 4
      out.writeDoubleBE(v, at + 1)
      at += 9
    } else if (typeof v === 'bigint') {
      out[at] = 5
      out.writeBigInt64BE(v, at + 1)
      at += 9
    } else {
      out[at] = 6
      const length = out.write(v as string, at + 5, 'utf8')
      out.writeUInt32BE(length, at + 1)
      at += 5 + length
    }
  }
  return out
}

function decodeFlat(bytes: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const fields = bytes[1]!
  let at = 2
  for (let i = 0; i < fields; i++) {
    const nameLength = bytes[at]!
    const name = bytes.toString('utf8', at + 1, at + 1 + nameLength)
    at += 1 + nameLength
    const type = bytes[at++]
    let v: unknown
    if (type === 0) v = undefined
    else if (type === 1) v = null
    else if (type === 2 || type === 3) v = type === 3
    else if (type === 4) {
      v = bytes.readDoubleBE(at)
      at += 8
    } else if (type === 5) {
      v = bytes.readBigInt64BE(at)
      at += 8
    } else if (type === 6) {
      const length = bytes.readUInt32BE(at)
      if (at + 4 + length > bytes.length) throw new Error('a string runs past the result')
      v = bytes.toString('utf8', at + 4, at + 4 + length)
      at += 4 + length
    } else throw new Error(`unknown field type ${type}`)
    // Defined as an own property even for '__proto__', as V8's deserialiser does.
    Object.defineProperty(out, name, { value: v, writable: true, enumerable: true, configurable: true })
  }
  if (at !== bytes.length) throw new Error('bytes past the last field')
  return out
}

/**
 * The stored form of a commit's result: a retry gets it back, so a value that cannot be stored (a
 * function, a symbol, a class's private state) refuses the commit (`INVALID_ARGUMENT`).
 */
export function encodeResult(result: unknown): Uint8Array | undefined {
  if (result === undefined) return undefined
  const names = flatFields(result)
  if (names !== undefined) return encodeFlat(result as Record<string, unknown>, names)
  let serialized: Buffer
  try {
    serialized = serialize(result)
  } catch (e) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      'a commit with an idempotency key must return a value that can be stored (structured-cloneable: no functions or symbols), because a retry gets it back',
      { cause: e },
    )
  }
  const out = Buffer.allocUnsafe(1 + serialized.length)
  out[0] = V8
  out.set(serialized, 1)
  return out
}

/** The result stored as `bytes` (empty: `undefined`); malformed bytes raise a plain Error. */
export function decodeResult(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined
  if (bytes[0] === FLAT) return decodeFlat(bytes)
  if (bytes[0] === V8) return deserialize(bytes.subarray(1))
  throw new Error(`unknown result kind ${bytes[0]}`)
}
