import { describeValue } from './config.js'
import { AzothError } from './errors.js'
import { checkKeySize, type Limits } from './limits.js'
import { utf8DecodeStrict, utf8Encode } from './utf8.js'

/** A state key: a UTF-8 string or raw bytes. Both are stored as bytes and compared bytewise. */
export type Key = string | Uint8Array

/** Validates a key (non-empty, well-formed, within the limit) and returns its bytes. */
export function encodeKey(key: Key, limits: Limits): Uint8Array {
  let bytes: Uint8Array
  if (typeof key === 'string') {
    if (!key.isWellFormed()) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        'key contains a lone surrogate and cannot be stored as UTF-8',
        {
          details: { key },
        },
      )
    }
    // Buffer.from takes short strings from a shared pool: cheaper than TextEncoder on the get path.
    bytes = Buffer.from(key, 'utf8')
  } else if (key instanceof Uint8Array) {
    bytes = key
  } else {
    throw new AzothError('INVALID_ARGUMENT', 'key must be a string or a Uint8Array', {
      details: { key: describeValue(key) },
    })
  }
  if (bytes.length === 0) throw new AzothError('INVALID_ARGUMENT', 'key must not be empty')
  checkKeySize(bytes.length, limits, key)
  return bytes
}

/** A key in readable form for messages and logs. */
export function keyToString(key: Key): string {
  if (typeof key === 'string') return key
  return (
    utf8DecodeStrict(key) ?? `0x${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex')}`
  )
}

/**
 * 32-bit FNV-1a of the key's UTF-8 bytes: a string key and its bytes land on the same stripe.
 * ASCII strings are hashed without encoding them.
 */
export function hashKey(key: Key): number {
  let h = 0x811c9dc5
  if (typeof key === 'string') {
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i)
      if (c >= 0x80) return hashBytes(utf8Encode(key))
      h = Math.imul(h ^ c, 0x01000193)
    }
    return h >>> 0
  }
  return hashBytes(key)
}

function hashBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return h >>> 0
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/**
 * A string naming a key's bytes, for Maps and Sets: a string key and its UTF-8 bytes give the same
 * id. ASCII string keys are their own id (no encoding); other keys use the latin1 image of their bytes.
 */
export function keyId(key: Key): string {
  if (typeof key === 'string') {
    if (isAscii(key)) return key
    return Buffer.from(key, 'utf8').toString('latin1')
  }
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
}
