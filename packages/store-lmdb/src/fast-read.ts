import type { Database, GetOptions } from 'lmdb'

/** lmdb-js's `getBinaryFast`, with the options argument its typings leave out. */
interface FastReader {
  getBinaryFast(key: Uint8Array, options?: GetOptions): Buffer | undefined
}

/**
 * A value read with lmdb-js's `getBinaryFast`, as a view of exactly its bytes. lmdb-js returns its
 * shared read buffer with a patched `length`; `subarray` and `DataView` would see the whole buffer,
 * so the view is cut here. Valid until the next read: decode or copy it at once. With
 * `options.transaction` the read sees that read transaction's snapshot instead of the latest state.
 */
export function readFast(
  db: Database<Uint8Array, Uint8Array>,
  key: Uint8Array,
  options?: GetOptions,
): Uint8Array | undefined {
  const buffer = (db as unknown as FastReader).getBinaryFast(key, options)
  return buffer === undefined ? undefined : buffer.subarray(0, buffer.length)
}
