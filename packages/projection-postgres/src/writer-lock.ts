/** A FIFO mutex: one transaction of a store at a time, in the order they asked. */
export class WriterLock {
  #held = false
  readonly #waiters: Array<() => void> = []

  acquire(): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  /** Hands the lock to the next waiter, or frees it. */
  release(): void {
    const next = this.#waiters.shift()
    if (next === undefined) this.#held = false
    else next()
  }
}
