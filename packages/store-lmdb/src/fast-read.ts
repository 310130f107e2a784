import type { Database, GetOptions } from 'lmdb'
import { checkedValueLength } from './value-checksum.js'

/** lmdb-js's `getBinaryFast`, with the options argument its typings leave out. */
interface FastReader {
  getBinaryFast(key: Uint8Array, options?: GetOptions): Buffer | undefined
}

/**
 * A value's stored bytes (encoding and checksum, unchecked) read with lmdb-js's `getBinaryFast`, as
 * a view of exactly those bytes. lmdb-js returns its shared read buffer with a patched `length`;
 * `subarray` and `DataView` would see the whole buffer, so the view is cut here. Valid until the
 * next read: use it at once. With `options.transaction` the read sees that read transaction's
 * snapshot instead of the latest state.
 */
export function readFast(
  db: Database<Uint8Array, Uint8Array>,
  key: Uint8Array,
  options?: GetOptions,
): Uint8Array | undefined {
  const buffer = (db as unknown as FastReader).getBinaryFast(key, options)
  return buffer === undefined ? undefined : buffer.subarray(0, buffer.length)
}

/**
 * The TypedValue encoding stored under `key`, its checksum checked (`CORRUPTION` on a mismatch), as
 * a view valid until the next read (see {@link readFast}); undefined when the key holds nothing.
 */
export function readValue(
  db: Database<Uint8Array, Uint8Array>,
  key: Uint8Array,
  options?: GetOptions,
): Uint8Array | undefined {
  const buffer = (db as unknown as FastReader).getBinaryFast(key, options)
  return buffer === undefined ? undefined : buffer.subarray(0, checkedValueLength(key, buffer, buffer.length))
}

/** lmdb-js's `getBinary`, with the options argument its typings leave out. */
interface CopyReader {
  getBinary(key: Uint8Array, options?: GetOptions): Buffer | undefined
}

/** Like {@link readValue}, but the bytes are the caller's own (a copy, not lmdb-js's shared buffer). */
export function readValueCopy(
  db: Database<Uint8Array, Uint8Array>,
  key: Uint8Array,
  options?: GetOptions,
): Uint8Array | undefined {
  const value = (db as unknown as CopyReader).getBinary(key, options)
  if (value === undefined) return undefined
  return new Uint8Array(value.buffer, value.byteOffset, checkedValueLength(key, value))
}
