import { ClosedError } from '@azothdb/core'

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined })

/**
 * An iterator handed out by the store (`scan`, `range`, `events`) that outlives a `close()`: its
 * next step raises `CLOSED` instead of whatever LMDB says about a cursor of a closed environment
 * (`MDB_BAD_TXN`, a numeric code).
 */
export class StoreIterator<T> implements IterableIterator<T> {
  constructor(
    private readonly inner: Iterator<T>,
    private readonly isClosed: () => boolean,
  ) {}

  [Symbol.iterator](): this {
    return this
  }

  next(): IteratorResult<T> {
    if (this.isClosed()) throw this.closedError()
    try {
      return this.inner.next()
    } catch (e) {
      if (this.isClosed()) throw this.closedError()
      throw e
    }
  }

  return(): IteratorResult<T> {
    this.release()
    return DONE
  }

  private closedError(): ClosedError {
    this.release()
    return new ClosedError('the store')
  }

  /** Ends the inner iterator; on a closed environment that may fail, and nothing is left to release. */
  private release(): void {
    try {
      this.inner.return?.()
    } catch (e) {
      if (!this.isClosed()) throw e
    }
  }
}
