import { createHash } from 'node:crypto'
import type { Database } from 'lmdb'
import { checkedValueLength } from './value-checksum.js'

/**
 * sha256 over every state entry in key order, each key and value encoding preceded by its u32
 * length. Checksums are checked and left out: the digest depends on the state, not on the format.
 */
export function stateDigest(state: Database<Uint8Array, Uint8Array>): string {
  const hash = createHash('sha256')
  const len = Buffer.alloc(4)
  for (const { key, value } of state.getRange({})) {
    const n = checkedValueLength(key, value)
    len.writeUInt32BE(key.length, 0)
    hash.update(len)
    hash.update(key)
    len.writeUInt32BE(n, 0)
    hash.update(len)
    hash.update(value.subarray(0, n))
  }
  return hash.digest('hex')
}
