import type { Key, ScanOptions, StateEntry, StateSnapshot, TypedValue } from '@azothdb/core'
import { checkArgument, checkArgumentFields, rules } from '@azothdb/core/internal'
import { requiredValue } from './required-value.js'

/** The fields of `ScanOptions`: a typo or a bad limit must not silently mean "everything". */
export const SCAN_OPTION_FIELDS = { limit: rules.nonNegativeInteger, reverse: rules.boolean }

/**
 * A consistent read view of the committed state, from {@link Azoth.snapshot}: every read sees the
 * same moment while commits go on, also across `await`s. Same read methods as the database
 * (`get` raises `NOT_FOUND`, `getOpt` returns undefined). Close it when done (`using` does it on
 * scope exit); reads after `close()` (or after the database closed) raise `CLOSED`.
 */
export class Snapshot implements Disposable {
  readonly #view: StateSnapshot

  /** @internal the database makes snapshots: `db.snapshot()`. */
  constructor(view: StateSnapshot) {
    this.#view = view
  }

  /** The value of `key` at the snapshot's moment; `NOT_FOUND` when it had none. */
  get(key: Key): TypedValue {
    return requiredValue(key, this.#view.get(key))
  }

  /** The value of `key` at the snapshot's moment, or undefined. */
  getOpt(key: Key): TypedValue | undefined {
    return this.#view.get(key)
  }

  /** The encoded bytes of `key`'s value at the snapshot's moment, or undefined. */
  getBytes(key: Key): Uint8Array | undefined {
    return this.#view.getBytes(key)
  }

  /** True when `key` had a value at the snapshot's moment. */
  exists(key: Key): boolean {
    return this.#view.exists(key)
  }

  /** Entries whose key starts with `prefix`, in key order, lazily, as of the snapshot. */
  scan(prefix: Key, options?: ScanOptions): IterableIterator<StateEntry> {
    checkArgument('prefix', prefix, rules.key)
    checkArgumentFields('options', options, SCAN_OPTION_FIELDS)
    return this.#view.scan(prefix, options)
  }

  /** Entries with `start <= key < end`, in key order, lazily, as of the snapshot. */
  range(start: Key, end: Key, options?: ScanOptions): IterableIterator<StateEntry> {
    checkArgument('start', start, rules.key)
    checkArgument('end', end, rules.key)
    checkArgumentFields('options', options, SCAN_OPTION_FIELDS)
    return this.#view.range(start, end, options)
  }

  /** Releases the snapshot (its LMDB reader); safe to call twice. */
  close(): void {
    this.#view.close()
  }

  /** Same as {@link Snapshot.close}: what `using snap = db.snapshot()` calls on scope exit. */
  [Symbol.dispose](): void {
    this.#view.close()
  }
}
