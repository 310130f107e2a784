/**
 * Serialises use of the single writer connection. A synchronous transaction takes the lock and
 * gives it back in the same tick; an asynchronous one holds it across awaits, and everything else
 * that writes waits its turn in FIFO order, so nothing runs inside someone else's transaction.
 */
export class WriterLock {
  private held = false
  private readonly waiters: Array<() => void> = []

  /** True when nobody holds the lock: the caller may take it synchronously with {@link tryAcquire}. */
  get free(): boolean {
    return !this.held && this.waiters.length === 0
  }

  tryAcquire(): boolean {
    if (!this.free) return false
    this.held = true
    return true
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  release(): void {
    const next = this.waiters.shift()
    if (next) next()
    else this.held = false
  }
}
