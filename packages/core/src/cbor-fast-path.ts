// A decoder for the plain subset of CBOR most event payloads use: maps with short ASCII keys,
// arrays, small integers, float64, ASCII strings, booleans and null. cbor-x spends ~200 ns setting
// up and tearing down per call, which dominated decoding a two-field payload; this reads such
// values in about half that. Anything outside the subset (or malformed, or with bytes left over)
// returns NOT_PLAIN and the caller decodes the same bytes with cbor-x, so results never differ
// from cbor-x's (a property test holds the two together), but for one key: an own '__proto__'
// stays itself here and in the fallback (cbor-proto-keys.ts), where cbor-x alone renames it.

import { type ObjectShape, rootShape } from './object-shapes.js'
import { setOwnKey } from './own-key.js'
import { StringCache } from './string-cache.js'
import { asciiString as ascii, isAscii } from './utf8.js'

/** Returned when the bytes are not in the plain subset; decode them with cbor-x instead. */
export const NOT_PLAIN: unique symbol = Symbol('not plain CBOR')

const MAX_DEPTH = 32
const MAX_STRING = 64

let pos = 0
let end = 0
let src: Uint8Array = new Uint8Array(0)
const float64 = new DataView(new ArrayBuffer(8))
const float64Bytes = new Uint8Array(float64.buffer)

/** Decodes `bytes[start, stop)` if it is one plain CBOR value; `NOT_PLAIN` otherwise. */
export function decodePlainCbor(bytes: Uint8Array, start: number, stop: number): unknown {
  src = bytes
  pos = start
  end = stop
  const value = read(0)
  src = EMPTY
  return pos === stop ? value : NOT_PLAIN
}

const EMPTY = new Uint8Array(0)

function read(depth: number): unknown {
  if (pos >= end) return NOT_PLAIN
  const b = src
  const head = b[pos++]!
  const major = head >> 5
  if (major === 7) return simple(head)
  const info = head & 31
  let arg: number
  if (info < 24) arg = info
  else if (info === 24) {
    if (pos + 1 > end) return NOT_PLAIN
    arg = b[pos++]!
  } else if (info === 25) {
    if (pos + 2 > end) return NOT_PLAIN
    arg = (b[pos]! << 8) | b[pos + 1]!
    pos += 2
  } else if (info === 26) {
    if (pos + 4 > end) return NOT_PLAIN
    arg = ((b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!) >>> 0
    pos += 4
  } else return NOT_PLAIN // 64-bit arguments, indefinite lengths, reserved values
  switch (major) {
    case 0:
      return arg
    case 1:
      return -1 - arg
    case 3:
      return text(arg)
    case 4: {
      if (depth >= MAX_DEPTH || arg > end - pos) return NOT_PLAIN
      const items = new Array<unknown>(arg)
      for (let i = 0; i < arg; i++) {
        const item = read(depth + 1)
        if (item === NOT_PLAIN) return NOT_PLAIN
        items[i] = item
      }
      return items
    }
    case 5: {
      if (depth >= MAX_DEPTH || arg > end - pos) return NOT_PLAIN
      return arg <= MAX_SHAPED_KEYS ? shapedMap(arg, depth) : keyedMap(arg, depth)
    }
    default:
      return NOT_PLAIN // byte strings and tags
  }
}

function simple(head: number): unknown {
  switch (head) {
    case 0xf4:
      return false
    case 0xf5:
      return true
    case 0xf6:
      return null
    case 0xfb: {
      if (pos + 8 > end) return NOT_PLAIN
      for (let i = 0; i < 8; i++) float64Bytes[i] = src[pos + i]!
      pos += 8
      return float64.getFloat64(0)
    }
    default:
      return NOT_PLAIN // undefined, half and single floats (cbor-x rounds those), other simple values
  }
}

/** A definite-length ASCII text string of `n` bytes at `pos`. */
function text(n: number): string | typeof NOT_PLAIN {
  if (n > MAX_STRING || pos + n > end) return NOT_PLAIN
  const s = pos
  if (!isAscii(src, s, s + n)) return NOT_PLAIN
  pos = s + n
  return ascii(src, s, n)
}

function keyedMap(n: number, depth: number): Record<string, unknown> | typeof NOT_PLAIN {
  const object: Record<string, unknown> = {}
  for (let i = 0; i < n; i++) {
    const key = mapKey()
    if (key === NOT_PLAIN) return NOT_PLAIN
    const value = read(depth + 1)
    if (value === NOT_PLAIN) return NOT_PLAIN
    setOwnKey(object, key, value)
  }
  return object
}

const MAX_SHAPED_KEYS = 16
// The values of the maps being read, nested ones above their parents.
const valueStack: unknown[] = []
let stackTop = 0

/**
 * A map read into the value stack, then built by its shape (see object-shapes.ts). Each key is
 * first compared with the one that followed the same keys last time, which spares hashing it.
 */
function shapedMap(n: number, depth: number): Record<string, unknown> | typeof NOT_PLAIN {
  const base = stackTop
  stackTop = base + n
  const shape = readEntries(n, depth, base)
  const result = shape === undefined ? NOT_PLAIN : shape.build(valueStack, base)
  // Nothing decoded stays reachable from the stack.
  for (let i = base; i < base + n; i++) valueStack[i] = undefined
  stackTop = base
  return result
}

/** Reads `n` entries, values to the stack from `base`: their keys' shape, or undefined if not plain. */
function readEntries(n: number, depth: number, base: number): ObjectShape | undefined {
  let shape = rootShape
  for (let i = 0; i < n; i++) {
    const expected = shape.nextKey
    if (expected !== undefined && isKeyAt(expected)) {
      pos += 1 + expected.length
      shape = shape.next!
    } else {
      const key = mapKey()
      if (key === NOT_PLAIN) return undefined
      shape = shape.child(key)
    }
    const value = read(depth + 1)
    if (value === NOT_PLAIN) return undefined
    valueStack[base + i] = value
  }
  return shape
}

/** True when the text string at `pos` is `key` (a cached key: ASCII, at most 23 characters). */
function isKeyAt(key: string): boolean {
  const n = key.length
  if (src[pos] !== 0x60 + n || pos + 1 + n > end) return false
  const s = pos + 1
  for (let i = 0; i < n; i++) if (src[s + i] !== key.charCodeAt(i)) return false
  return true
}

// Map keys repeat from one event to the next: they come from a cache of recent ones.
const keyCache = new StringCache(9) // 512 keys

function mapKey(): string | typeof NOT_PLAIN {
  if (pos >= end) return NOT_PLAIN
  const head = src[pos]!
  if (head < 0x60 || head > 0x77) return NOT_PLAIN // only keys that are short text strings
  const n = head - 0x60
  const s = pos + 1
  if (s + n > end) return NOT_PLAIN
  const b = src
  // A cached key was ASCII when it was stored.
  const cached = keyCache.get(b, s, s + n)
  if (cached !== undefined) {
    pos = s + n
    return cached
  }
  if (!isAscii(b, s, s + n)) return NOT_PLAIN
  const key = ascii(b, s, n)
  keyCache.set(b, s, s + n, key)
  pos = s + n
  return key
}
