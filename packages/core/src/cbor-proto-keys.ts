// cbor-x renames a map key '__proto__' to '__proto_' when it decodes maps as objects (its guard
// against prototype pollution), so a payload built by JSON.parse from a request body would come
// back changed. Bytes that may hold such a key are decoded with maps as Maps instead, and the Maps
// become objects here with every key an own property, exactly as encoded.

import { Tag } from 'cbor-x'
import { setOwnKey } from './own-key.js'

// The key as CBOR: a text string of 9 bytes (head 0x69), then '__proto__'.
const PROTO_KEY = Buffer.from([0x69, ...Buffer.from('__proto__', 'latin1')])
const indexOf = Buffer.prototype.indexOf

/** From this many bytes on, Buffer's native search beats the loop below (its call costs ~60 ns). */
const NATIVE_SEARCH_FROM = 256
// Horspool's skip table: how far the window may move when its last byte is `c`.
const SKIP = new Uint8Array(256).fill(PROTO_KEY.length)
for (let j = 0; j < PROTO_KEY.length - 1; j++) SKIP[PROTO_KEY[j]!] = PROTO_KEY.length - 1 - j

/**
 * True when `bytes[start, end)` may hold a '__proto__' key: a byte search, run on every payload
 * the fast path leaves to cbor-x, so it skips ahead by the window's last byte (most bytes of a
 * payload occur nowhere in the key). A match inside a longer string or a byte string is a harmless
 * false positive: those bytes take the slower exact path.
 */
export function mayHoldProtoKey(bytes: Uint8Array, start: number, end: number): boolean {
  const m = PROTO_KEY.length
  if (end - start >= NATIVE_SEARCH_FROM) {
    const at = indexOf.call(bytes, PROTO_KEY, start)
    return at >= 0 && at + m <= end
  }
  for (let i = start; i + m <= end; i += SKIP[bytes[i + m - 1]!]!) {
    if (isProtoKeyAt(bytes, i)) return true
  }
  return false
}

function isProtoKeyAt(bytes: Uint8Array, at: number): boolean {
  for (let j = PROTO_KEY.length - 1; j >= 0; j--) if (bytes[at + j] !== PROTO_KEY[j]) return false
  return true
}

/**
 * Turns every Map that cbor-x decoded (with `mapsAsObjects: false`) into the object cbor-x builds
 * with `mapsAsObjects: true`, keys converted the same way, except that '__proto__' stays itself.
 * Arrays and Sets are rebuilt in place, tags' values too.
 */
export function mapsToObjects(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Map) {
    const object: Record<string, unknown> = {}
    for (const [k, v] of value) setOwnKey(object, propertyName(k), mapsToObjects(v))
    return object
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = mapsToObjects(value[i])
    return value
  }
  if (value instanceof Set) {
    const members = [...value]
    value.clear()
    for (const m of members) value.add(mapsToObjects(m))
    return value
  }
  // A tag cbor-x has no reader for keeps its content.
  if (value instanceof Tag) value.value = mapsToObjects(value.value)
  return value
}

/** The property name cbor-x's `safeKey` makes of a map key, refusing the same keys it refuses. */
function propertyName(key: unknown): string {
  if (typeof key === 'string') return key
  if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint') return key.toString()
  if (key === null || key === undefined) return `${key}`
  throw new Error(`Invalid property name type ${typeof key}`)
}
