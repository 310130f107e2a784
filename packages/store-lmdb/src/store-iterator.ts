import { ClosedError } from '@azoth/core'

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
    try {
      this.inner.return?.()
    } catch (e) {
      // Ending a cursor of a closed environment may fail too; nothing is left to release then.
      if (!this.isClosed()) throw e
    }
    return DONE
  }

  private closedError(): ClosedError {
    try {
      this.inner.return?.()
    } catch {
      // The environment is gone: nothing to release.
    }
    return new ClosedError('the store')
  }
}
