import { allocateBytes } from './byte-slab.js'
import { canonicalize, decodeCbor, encodeCbor } from './cbor.js'
import { AzothError, CorruptionError, isAzothError } from './errors.js'
import {
  compareBytes,
  registerEqualityEncoder,
  type TypedValue,
  type TypedValueKind,
  unsafeTypedValue,
} from './typed-value.js'

/** The first byte of an encoded typed value. Stable on disk: never renumber. */
export const TYPED_VALUE_TAGS = {
  /** i64: followed by 8 bytes, big-endian two's complement. */
  i64: 0x01,
  /** u256: followed by 32 bytes, big-endian unsigned. */
  u256: 0x02,
  /** string: followed by the UTF-8 bytes. */
  string: 0x03,
  /** bytes: followed by the raw bytes. */
  bytes: 0x04,
  /** bool: followed by one byte, 0 or 1. */
  bool: 0x05,
  /** f64: followed by 8 bytes, big-endian IEEE 754 (NaN canonicalised). */
  f64: 0x06,
  /** set: followed by its members, sorted by UTF-8 bytes. */
  set: 0x07,
  /** array: followed by its items, in order. */
  array: 0x08,
  /** json: followed by canonical CBOR (object keys sorted). */
  json: 0x09,
} as const satisfies Record<TypedValueKind, number>

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const U256_MASK_64 = 0xffff_ffff_ffff_ffffn

// One scratch view for fixed-width numbers: encoding writes there and copies, decoding reads through
// a view of the source's buffer kept while the same buffer comes back (LMDB reuses its read buffer).
const scratch = new Uint8Array(32)
const scratchView = new DataView(scratch.buffer)
let viewedBuffer: ArrayBufferLike | undefined
let viewOfBuffer: DataView | undefined

function viewOf(bytes: Uint8Array): DataView {
  if (bytes.buffer !== viewedBuffer) {
    viewedBuffer = bytes.buffer
    viewOfBuffer = new DataView(bytes.buffer)
  }
  return viewOfBuffer!
}

function fixed(tag: number, width: number): Uint8Array {
  const out = new Uint8Array(1 + width)
  out[0] = tag
  for (let i = 0; i < width; i++) out[1 + i] = scratch[i]!
  return out
}

function withText(tag: number, text: string): Uint8Array {
  const n = text.length
  if (n <= 64) {
    // Short ASCII strings (the common case) are copied byte by byte: cheaper than any encoder call.
    const out = new Uint8Array(1 + n)
    out[0] = tag
    let i = 0
    for (; i < n; i++) {
      const c = text.charCodeAt(i)
      if (c > 0x7f) break
      out[1 + i] = c
    }
    if (i === n) return out
  }
  const out = allocateBytes(1 + Buffer.byteLength(text, 'utf8'))
  out[0] = tag
  utf8Encoder.encodeInto(text, out.subarray(1))
  return out
}

function encodeStrings(tag: number, items: readonly string[]): Uint8Array {
  let size = 5
  for (const item of items) size += 4 + Buffer.byteLength(item, 'utf8')
  const out = allocateBytes(size)
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  out[0] = tag
  view.setUint32(1, items.length)
  let at = 5
  for (const item of items) {
    const { written } = utf8Encoder.encodeInto(item, out.subarray(at + 4))
    view.setUint32(at, written)
    at += 4 + written
  }
  return out
}

/**
 * Encodes a typed value to its deterministic binary form: a tag byte and a fixed layout per kind
 * (big-endian integers, fixed-width u256, sorted sets, CBOR with sorted keys for json). Like
 * {@link encodeEnvelope}'s, the bytes may be a view into a shared buffer.
 */
export function encodeTypedValue(v: TypedValue): Uint8Array {
  switch (v.kind) {
    case 'i64':
      scratchView.setBigInt64(0, v.value)
      return fixed(TYPED_VALUE_TAGS.i64, 8)
    case 'u256': {
      let x = v.value
      for (let at = 24; at >= 0; at -= 8) {
        scratchView.setBigUint64(at, x & U256_MASK_64)
        x >>= 64n
      }
      return fixed(TYPED_VALUE_TAGS.u256, 32)
    }
    case 'string':
      return withText(TYPED_VALUE_TAGS.string, v.value)
    case 'bytes': {
      const out = allocateBytes(1 + v.value.length)
      out[0] = TYPED_VALUE_TAGS.bytes
      out.set(v.value, 1)
      return out
    }
    case 'bool': {
      const out = new Uint8Array(2)
      out[0] = TYPED_VALUE_TAGS.bool
      out[1] = v.value ? 1 : 0
      return out
    }
    case 'f64':
      // Every NaN is stored as the one canonical NaN, so equal values give equal bytes.
      scratchView.setFloat64(0, Number.isNaN(v.value) ? Number.NaN : v.value)
      return fixed(TYPED_VALUE_TAGS.f64, 8)
    case 'set':
      return encodeStrings(TYPED_VALUE_TAGS.set, v.value)
    case 'array':
      return encodeStrings(TYPED_VALUE_TAGS.array, v.value)
    case 'json': {
      let body: Uint8Array
      try {
        body = encodeCbor(canonicalize(v.value))
      } catch (e) {
        if (isAzothError(e)) throw e
        throw new AzothError('INVALID_ARGUMENT', 'json value cannot be encoded as CBOR', { cause: e })
      }
      const out = allocateBytes(1 + body.length)
      out[0] = TYPED_VALUE_TAGS.json
      out.set(body, 1)
      return out
    }
  }
}

function corrupt(reason: string, bytes: Uint8Array, cause?: unknown): never {
  throw new CorruptionError(`corrupt typed value: ${reason}`, {
    cause,
    details: { where: 'typed value', length: bytes.length },
  })
}

function decodeUtf8(bytes: Uint8Array, reason: string): string {
  try {
    return utf8Decoder.decode(bytes)
  } catch (e) {
    return corrupt(`${reason} is not valid UTF-8`, bytes, e)
  }
}

function decodeStrings(bytes: Uint8Array, kind: 'set' | 'array'): string[] {
  if (bytes.length < 5) corrupt(`${kind} header truncated`, bytes)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(1)
  // Each member takes at least 4 bytes: a count beyond that is a lie, refuse before allocating.
  if (count > (bytes.length - 5) / 4) corrupt(`${kind} count ${count} exceeds the data`, bytes)
  const items = new Array<string>(count)
  let at = 5
  let prev: Uint8Array | undefined
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) corrupt(`${kind} member ${i} truncated`, bytes)
    const len = view.getUint32(at)
    at += 4
    if (at + len > bytes.length) corrupt(`${kind} member ${i} overruns the data`, bytes)
    const raw = bytes.subarray(at, at + len)
    items[i] = decodeUtf8(raw, `${kind} member ${i}`)
    if (kind === 'set') {
      if (prev !== undefined && compareBytes(prev, raw) >= 0)
        corrupt('set members are not strictly sorted', bytes)
      prev = raw
    }
    at += len
  }
  if (at !== bytes.length) corrupt(`${bytes.length - at} trailing bytes after ${kind}`, bytes)
  return items
}

function expectLength(bytes: Uint8Array, n: number, kind: string): void {
  if (bytes.length !== n) corrupt(`${kind} must be ${n} bytes, found ${bytes.length}`, bytes)
}

/**
 * Decodes bytes written by {@link encodeTypedValue}. Anything else, including foreign or damaged
 * bytes, raises `CORRUPTION` and nothing else.
 */
export function decodeTypedValue(bytes: Uint8Array): TypedValue {
  if (bytes.length === 0) corrupt('empty', bytes)
  switch (bytes[0]) {
    case TYPED_VALUE_TAGS.i64:
      expectLength(bytes, 9, 'i64')
      return unsafeTypedValue('i64', viewOf(bytes).getBigInt64(bytes.byteOffset + 1))
    case TYPED_VALUE_TAGS.u256: {
      expectLength(bytes, 33, 'u256')
      const view = viewOf(bytes)
      let x = 0n
      for (let at = 1; at < 33; at += 8) x = (x << 64n) | view.getBigUint64(bytes.byteOffset + at)
      return unsafeTypedValue('u256', x)
    }
    case TYPED_VALUE_TAGS.string:
      return unsafeTypedValue('string', decodeUtf8(bytes.subarray(1), 'string'))
    case TYPED_VALUE_TAGS.bytes:
      // A plain copy: `bytes` may be a Buffer whose slice() is a view, or a buffer LMDB reuses.
      return unsafeTypedValue('bytes', new Uint8Array(bytes.subarray(1)))
    case TYPED_VALUE_TAGS.bool:
      expectLength(bytes, 2, 'bool')
      if (bytes[1]! > 1) corrupt(`bool byte ${bytes[1]}`, bytes)
      return unsafeTypedValue('bool', bytes[1] === 1)
    case TYPED_VALUE_TAGS.f64:
      expectLength(bytes, 9, 'f64')
      return unsafeTypedValue('f64', viewOf(bytes).getFloat64(bytes.byteOffset + 1))
    case TYPED_VALUE_TAGS.set:
      return unsafeTypedValue('set', decodeStrings(bytes, 'set'))
    case TYPED_VALUE_TAGS.array:
      return unsafeTypedValue('array', decodeStrings(bytes, 'array'))
    case TYPED_VALUE_TAGS.json: {
      if (bytes.length < 2) corrupt('json body empty', bytes)
      const value = decodeCbor(bytes.subarray(1), 'json typed value')
      if (value === undefined) corrupt('json body decodes to undefined', bytes)
      return unsafeTypedValue('json', value)
    }
    default:
      return corrupt(`unknown tag 0x${bytes[0]!.toString(16).padStart(2, '0')}`, bytes)
  }
}

registerEqualityEncoder(encodeTypedValue)
