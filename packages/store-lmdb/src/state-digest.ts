import { createHash } from 'node:crypto'
import type { Database } from 'lmdb'

/** sha256 over every state entry in key order, each key and value preceded by its u32 length. */
export function stateDigest(state: Database<Uint8Array, Uint8Array>): string {
  const hash = createHash('sha256')
  const len = Buffer.alloc(4)
  for (const { key, value } of state.getRange({})) {
    len.writeUInt32BE(key.length, 0)
    hash.update(len)
    hash.update(key)
    len.writeUInt32BE(value.length, 0)
    hash.update(len)
    hash.update(value)
  }
  return hash.digest('hex')
}
