/**
 * Counts publishes awaiting their acknowledgement and holds the publisher back at `max`: the
 * back-pressure that keeps a slow or absent JetStream from piling up unbounded work in memory.
 */
export class AckWindow {
  readonly #max: number
  #inFlight = 0
  #wake: (() => void) | undefined

  constructor(max: number) {
    this.#max = max
  }

  /** Publishes sent and not yet acknowledged or failed. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** True when one more publish may go out now. */
  get open(): boolean {
    return this.#inFlight < this.#max
  }

  /** Resolves at the next release or interrupt. */
  changed(): Promise<void> {
    return this.#next()
  }

  /** Resolves once nothing is in flight. */
  async drained(): Promise<void> {
    while (this.#inFlight > 0) await this.#next()
  }

  /** Wakes a waiter even though the window has not moved (a failure, a stop). */
  interrupt(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  add(): void {
    this.#inFlight++
  }

  /** One publish settled (acknowledged or failed). */
  release(): void {
    this.#inFlight--
    this.interrupt()
  }

  #next(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.#wake
      this.#wake = () => {
        previous?.()
        resolve()
      }
    })
  }
}
