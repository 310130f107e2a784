import { Decoder, Encoder } from 'cbor-x'
import { decodePlainCbor, NOT_PLAIN } from './cbor-fast-path.js'
import { decodeKeepingProtoKeys, mayHoldProtoKey } from './cbor-proto-keys.js'
import { AzothError, CorruptionError } from './errors.js'
import { setOwnKey } from './own-key.js'

// `useRecords: false` keeps payloads plain CBOR that any reader can decode.
const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: true,
})
// copyBuffers: decoded byte strings are copies, never views into the bytes decoded from (which
// may be the scratch buffer below, or a buffer the caller reuses).
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })
// cbor-x's decode takes an end offset its type declaration leaves out.
const decodeUpTo = decoder.decode.bind(decoder) as (source: Uint8Array, end?: number) => unknown

// cbor-x caches a DataView on the source as a new property: for a fresh subarray per event that is
// an allocation and a shape change each time. Small inputs are decoded from one scratch buffer instead.
const SCRATCH_LIMIT = 64 * 1024
let scratch = newScratch(4096)

function newScratch(size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  Object.defineProperty(bytes, 'dataView', { value: new DataView(bytes.buffer), writable: true })
  return bytes
}

// cbor-x keeps the buffer and position of the encode under way in module state, shared by all its
// encoders: an encode started by the value's own code (a getter) in the middle of another wrote
// over the outer value's bytes, which were then stored damaged. Such an encode is refused.
let encoding = false

/**
 * Encodes a value as plain CBOR (object keys in insertion order). Called again while it runs (by
 * a getter of the value): `INVALID_ARGUMENT`, and the outer encode is unharmed.
 */
export function encodeCbor(value: unknown): Uint8Array {
  if (encoding) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      'a value was encoded while another was being encoded (by a getter of its data)',
    )
  }
  encoding = true
  try {
    return encoder.encode(value)
  } finally {
    encoding = false
  }
}

/** Decodes plain CBOR; anything malformed raises `CORRUPTION` naming `where`. */
export function decodeCbor(bytes: Uint8Array, where: string): unknown {
  return decodeCborRange(bytes, 0, bytes.length, where, undefined)
}

/**
 * @internal Decodes the CBOR in `bytes[start, end)`. The error names `part` (of `subject`: an event
 * id or a description), a string built only when there is an error: this runs once per event.
 */
export function decodeCborRange(
  bytes: Uint8Array,
  start: number,
  end: number,
  part: string,
  subject: string | number | undefined,
): unknown {
  const plain = decodePlainCbor(bytes, start, end)
  if (plain !== NOT_PLAIN) return plain
  try {
    // The decoder above would rename a '__proto__' key (see cbor-proto-keys.ts).
    if (mayHoldProtoKey(bytes, start, end)) return decodeKeepingProtoKeys(bytes.subarray(start, end))
    const n = end - start
    if (n === 0 || n > SCRATCH_LIMIT)
      return decodeUpTo(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end))
    if (n > scratch.length) scratch = newScratch(Math.min(SCRATCH_LIMIT, Math.max(scratch.length * 2, n)))
    const s = scratch
    if (n <= 64) for (let i = 0; i < n; i++) s[i] = bytes[start + i]!
    else s.set(bytes.subarray(start, end))
    return decodeUpTo(s, n)
  } catch (e) {
    const where =
      subject === undefined
        ? part
        : `${part} of ${typeof subject === 'number' ? `event ${subject}` : subject}`
    throw new CorruptionError(`malformed CBOR in ${where}`, { cause: e, details: { where } })
  }
}

/**
 * Returns a copy of `value` with every plain object's keys sorted (and Map and Set entries in the
 * order of their encoded bytes), so encoding is deterministic. Null-prototype objects count as
 * plain. An own `__proto__` key is kept as an own key (decoding returns it as one).
 */
export function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize)
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto === Object.prototype || proto === null) {
      const src = value as Record<string, unknown>
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(src).sort()) setOwnKey(out, k, canonicalize(src[k]))
      return out
    }
  }
  // Maps and Sets go in the order of their encoded keys / members (RFC 8949 deterministic order),
  // so insertion order does not change the bytes.
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => {
      const key = canonicalize(k)
      return { key, value: canonicalize(v), bytes: encodeCbor(key) }
    })
    entries.sort((a, b) => compareBytes(a.bytes, b.bytes))
    return new Map(entries.map((e) => [e.key, e.value]))
  }
  if (value instanceof Set) {
    const members = [...value].map((m) => {
      const member = canonicalize(m)
      return { member, bytes: encodeCbor(member) }
    })
    members.sort((a, b) => compareBytes(a.bytes, b.bytes))
    return new Set(members.map((m) => m.member))
  }
  return value
}

function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) {
    const d = x[i]! - y[i]!
    if (d !== 0) return d
  }
  return x.length - y.length
}
