// cbor-x renames a map key '__proto__' to '__proto_' when it decodes maps as objects (its guard
// against prototype pollution), so a payload built by JSON.parse from a request body would come
// back changed. Bytes that may hold such a key are decoded by a decoder that renames keys
// reversibly instead (every other decision stays cbor-x's own: which maps become Maps under tag
// 259, what a tag makes of a map, what it refuses), then the escaped keys are restored as own keys.
// Decoding maps as Maps and turning them all into objects got tag 259 wrong: a Map came back as an
// object, its number keys as strings, whenever a '__proto__' occurred anywhere in the bytes.

import { Decoder, Tag } from 'cbor-x'
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

// A key's escaped name: '__proto__' is "\0", a key starting with "\0" gets one more in front.
// One-to-one, and no other key (nor a number, boolean or null key cbor-x names) starts with "\0".
const ESCAPE = '\u0000'

function escapeKey(key: unknown): unknown {
  if (typeof key !== 'string') return key
  if (key === '__proto__') return ESCAPE
  return key.startsWith(ESCAPE) ? ESCAPE + key : key
}

function unescapeKey(name: string): string {
  return name === ESCAPE ? '__proto__' : name.slice(1)
}

/** cbor-x with maps as objects, each key passed through escapeKey (its hook for mapping keys). */
class EscapingDecoder extends Decoder {
  decodeKey(key: unknown): unknown {
    return escapeKey(key)
  }
}

/** Decodes as cbor-x does with maps as objects, every key (a '__proto__' too) kept as it was encoded. */
export function decodeKeepingProtoKeys(bytes: Uint8Array): unknown {
  return restoreKeys(protoKeyDecoder.decode(bytes))
}

// `keyMap` (empty) makes cbor-x pass every map key through decodeKey.
const protoKeyDecoder = new EscapingDecoder({ useRecords: false, keyMap: {}, copyBuffers: true })

/** Restores escaped keys in `value` and everything in it: own keys of objects, keys of Maps. */
function restoreKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreKeys(value[i])
    return value
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const object = value as Record<string, unknown>
    const names = Object.keys(object)
    if (!names.some((n) => n.startsWith(ESCAPE))) {
      for (const n of names) object[n] = restoreKeys(object[n])
      return object
    }
    const restored: Record<string, unknown> = {}
    for (const n of names)
      setOwnKey(restored, n.startsWith(ESCAPE) ? unescapeKey(n) : n, restoreKeys(object[n]))
    return restored
  }
  if (value instanceof Map) {
    const entries = [...value]
    value.clear()
    for (const [k, v] of entries)
      value.set(
        typeof k === 'string' && k.startsWith(ESCAPE) ? unescapeKey(k) : restoreKeys(k),
        restoreKeys(v),
      )
    return value
  }
  if (value instanceof Set) {
    const members = [...value]
    value.clear()
    for (const m of members) value.add(restoreKeys(m))
    return value
  }
  // A tag cbor-x has no reader for keeps its content; an error (tag 27) its cause.
  if (value instanceof Tag) value.value = restoreKeys(value.value)
  else if (value instanceof Error && Object.hasOwn(value, 'cause')) value.cause = restoreKeys(value.cause)
  return value
}
