import {
  ClosedError,
  decodeTypedValue,
  type Key,
  type Limits,
  type ScanOptions,
  type StateEntry,
  type StateSnapshot,
  type TypedValue,
} from '@azothdb/core'
import type { Database, Transaction } from 'lmdb'
import { readFast, readValue, readValueCopy } from './fast-read.js'
import { lookupKey } from './lookup-key.js'
import { scanState } from './state-scan.js'

type Bytes = Uint8Array

/**
 * A {@link StateSnapshot} over one lmdb-js read transaction (`useReadTransaction`). Reads go through
 * the same functions as the store's own reads, given `{ transaction }`. Closing calls
 * `transaction.done()` once, after ending the snapshot's unfinished iterators (each holds a cursor
 * on the transaction).
 */
export class LmdbStateSnapshot implements StateSnapshot {
  private readonly options: { readonly transaction: Transaction }
  private readonly iterators = new Set<SnapshotIterator>()
  private closed = false

  constructor(
    private readonly state: Database<Bytes, Bytes>,
    private readonly limits: Limits,
    transaction: Transaction,
    private readonly onClose: (snapshot: LmdbStateSnapshot) => void,
  ) {
    this.options = { transaction }
  }

  get(key: Key): TypedValue | undefined {
    this.checkOpen()
    const bytes = readValue(this.state, lookupKey(key, this.limits), this.options)
    return bytes === undefined ? undefined : decodeTypedValue(bytes)
  }

  getBytes(key: Key): Uint8Array | undefined {
    this.checkOpen()
    return readValueCopy(this.state, lookupKey(key, this.limits), this.options)
  }

  exists(key: Key): boolean {
    this.checkOpen()
    // What lmdb-js's doesExist does: a fast read, without decoding.
    return readFast(this.state, lookupKey(key, this.limits), this.options) !== undefined
  }

  scan(prefix: Key, options: ScanOptions = {}): IterableIterator<StateEntry> {
    this.checkOpen()
    return this.track(
      scanState(this.state, prefix, undefined, options, this.limits, this.options.transaction),
    )
  }

  range(start: Key, end: Key, options: ScanOptions = {}): IterableIterator<StateEntry> {
    this.checkOpen()
    return this.track(scanState(this.state, start, end, options, this.limits, this.options.transaction))
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    // Cursors first: they must be closed before their transaction ends.
    for (const it of [...this.iterators]) it.end()
    try {
      this.options.transaction.done()
    } finally {
      this.onClose(this)
    }
  }

  [Symbol.dispose](): void {
    this.close()
  }

  /** @internal Raises `CLOSED` once the snapshot (or its store) is closed. */
  checkOpen(): void {
    if (this.closed) throw new ClosedError('the snapshot')
  }

  /** @internal An iterator ended (finished, failed or returned early). */
  forget(it: SnapshotIterator): void {
    this.iterators.delete(it)
  }

  private track(inner: Generator<StateEntry>): SnapshotIterator {
    const it = new SnapshotIterator(this, inner)
    this.iterators.add(it)
    return it
  }
}

/**
 * A scan of a snapshot: raises `CLOSED` once the snapshot is closed (its cursor was released by
 * then), instead of quietly ending or touching a finished transaction.
 */
class SnapshotIterator implements IterableIterator<StateEntry> {
  constructor(
    private readonly snapshot: LmdbStateSnapshot,
    private readonly inner: Generator<StateEntry>,
  ) {}

  next(): IteratorResult<StateEntry> {
    this.snapshot.checkOpen()
    let result: IteratorResult<StateEntry>
    try {
      result = this.inner.next()
    } catch (e) {
      // The generator is finished (its for-of closed the cursor).
      this.snapshot.forget(this)
      throw e
    }
    if (result.done) this.snapshot.forget(this)
    return result
  }

  return(): IteratorResult<StateEntry> {
    this.end()
    return { done: true, value: undefined }
  }

  /** Closes the cursor (through the generator's for-of) and forgets this iterator. */
  end(): void {
    this.inner.return(undefined)
    this.snapshot.forget(this)
  }

  [Symbol.iterator](): this {
    return this
  }
}
