import type { EventSource } from './canonical-store.js'
import type { Clock } from './clock.js'

/**
 * Waits for a source's head to move: woken by its commit notifications, and re-checked every
 * `maxMs` on the database clock, because commits of another process notify nobody here. Shared by
 * the facade's subscriptions and the projector's continuous mode, so both wait the same way and a
 * `ManualClock` drives both. One wait at a time per follower.
 */
export class HeadFollower {
  readonly #clock: Clock
  readonly #unsubscribe: () => void
  #onCommit: (() => void) | undefined

  constructor(source: Pick<EventSource, 'onCommit'>, clock: Clock) {
    this.#clock = clock
    this.#unsubscribe = source.onCommit(() => this.#onCommit?.())
  }

  /**
   * Resolves when `ready()` holds (checked now and after each commit), when `maxMs` of the clock
   * have passed (never, when undefined), or when `signal` aborts; never rejects.
   */
  async wait(ready: () => boolean, maxMs: number | undefined, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || ready()) return
    const done = new AbortController()
    const onAbort = (): void => done.abort()
    signal?.addEventListener('abort', onAbort, { once: true })
    const woken = new Promise<void>((resolve) => {
      done.signal.addEventListener('abort', () => resolve(), { once: true })
      this.#onCommit = () => {
        if (ready()) resolve()
      }
    })
    try {
      if (maxMs === undefined) await woken
      else await Promise.race([woken, this.#clock.sleep(maxMs, done.signal).catch(() => undefined)])
    } finally {
      this.#onCommit = undefined
      done.abort()
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** Stops listening to the source's commits; a wait in progress still ends by its time or signal. */
  close(): void {
    this.#onCommit = undefined
    this.#unsubscribe()
  }
}
