import { CorruptionError } from '@azothdb/core'
import { allocateBytes, crc32c, keyToString } from '@azothdb/core/internal'

/*
 * A stored state value is its TypedValue encoding followed by a u32 big-endian CRC-32C of the key
 * and the encoding. LMDB trusts its pages: a flipped bit in a value decodes to a different value
 * (a balance off by 2), and one in a key moves the entry under another key. The key is in the
 * checksum so that a value read under a key it was not written under is caught too.
 */

/** Bytes a value's checksum adds to what is stored. */
export const VALUE_CHECKSUM_BYTES = 4

/** The stored form of `encoded` under `key`: the encoding followed by its checksum. */
export function sealValue(key: Uint8Array, encoded: Uint8Array): Uint8Array {
  const n = encoded.length
  const stored = allocateBytes(n + VALUE_CHECKSUM_BYTES)
  stored.set(encoded, 0)
  writeU32(stored, n, crc32c(encoded, 0, n, crc32c(key)))
  return stored
}

/**
 * The length of the encoding inside `stored` (`stored[0, length)` is the value under `key`), after
 * checking its checksum; a mismatch is `CORRUPTION` naming the key.
 */
export function checkedValueLength(key: Uint8Array, stored: Uint8Array, length = stored.length): number {
  const n = length - VALUE_CHECKSUM_BYTES
  if (n < 0) throw valueCorrupt(key, 'shorter than its checksum', undefined, undefined)
  const expected = readU32(stored, n)
  const actual = crc32c(stored, 0, n, crc32c(key))
  if (actual !== expected) throw valueCorrupt(key, 'checksum mismatch', expected, actual)
  return n
}

function valueCorrupt(
  key: Uint8Array,
  reason: string,
  expected: number | undefined,
  actual: number | undefined,
): CorruptionError {
  const name = keyToString(new Uint8Array(key))
  return new CorruptionError(`the stored value of key ${JSON.stringify(name)} is corrupt: ${reason}`, {
    details: { where: 'key', key: name, reason, expected, actual },
  })
}

function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24
  b[at + 1] = v >>> 16
  b[at + 2] = v >>> 8
  b[at + 3] = v
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
}
