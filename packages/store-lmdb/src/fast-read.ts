import type { Database } from 'lmdb'

/**
 * A value read with lmdb-js's `getBinaryFast`, as a view of exactly its bytes. lmdb-js returns its
 * shared read buffer with a patched `length`; `subarray` and `DataView` would see the whole buffer,
 * so the view is cut here. Valid until the next read: decode or copy it at once.
 */
export function readFast(db: Database<Uint8Array, Uint8Array>, key: Uint8Array): Uint8Array | undefined {
  const buffer = db.getBinaryFast(key)
  return buffer === undefined ? undefined : buffer.subarray(0, buffer.length)
}
