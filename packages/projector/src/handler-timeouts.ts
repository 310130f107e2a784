import { AzothError, type Clock, type EventId, type Logger } from '@azothdb/core'
import { checkInteger } from '@azothdb/core/internal'
import type { MetricsCounters } from './projector-metrics.js'

/** Default of `handlerTimeoutMs`: long enough for a slow webhook, short enough that nothing waits forever. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000

/** The largest timeout a timer can wait for (2^31 - 1 ms, about 24.8 days). */
export const MAX_HANDLER_TIMEOUT_MS = 2_147_483_647

/**
 * Which asynchronous handler call of one piece of work (a batch, an event, a replay, a reset) is
 * pending, and since when. The dispatcher notes each call whose handler returned a promise;
 * synchronous handlers are never noted, and they cannot be timed out: they hold the thread.
 */
export class HandlerWatch {
  calls = 0
  since = 0
  handler: string | undefined
  eventId: EventId | undefined
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
    this.since = clock.now()
  }

  /** New work starts now: the time before its first handler call counts towards nothing else. */
  reset(): void {
    this.calls = 0
    this.since = this.#clock.now()
    this.handler = undefined
    this.eventId = undefined
  }

  /** A handler returned a promise for `eventId` (undefined for `handleBatch` and `reset`). */
  note(handler: { readonly name?: string | undefined }, eventId: EventId | undefined): void {
    this.calls++
    this.since = this.#clock.now()
    this.handler = handler.name
    this.eventId = eventId
  }
}

/**
 * Bounds how long one asynchronous handler call may stay pending. A call that outlives the limit
 * is a failure (`TIMEOUT`): the caller ends the call's transaction, which rolls its writes back and
 * makes its `tx` refuse later use, and abandons the call; the event then meets the error strategy.
 */
export class HandlerTimeouts {
  readonly #projector: string
  readonly #clock: Clock
  readonly #logger: Logger
  readonly #counters: MetricsCounters
  /** The limit in milliseconds of the projector's clock. */
  readonly timeoutMs: number

  /** `timeoutMs` (the option `handlerTimeoutMs`) defaults to 30 s; bad values raise `CONFIG`. */
  constructor(
    timeoutMs: number | undefined,
    host: { name: string; clock: Clock; logger: Logger; counters: MetricsCounters },
  ) {
    this.timeoutMs = checkInteger(
      'handlerTimeoutMs',
      timeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS,
      1,
      MAX_HANDLER_TIMEOUT_MS,
    )
    this.#projector = host.name
    this.#clock = host.clock
    this.#logger = host.logger
    this.#counters = host.counters
  }

  /** A watch for one piece of work on this projector's clock. */
  watch(): HandlerWatch {
    return new HandlerWatch(this.#clock)
  }

  /** Awaits what one handler call returned (e.g. `reset`); `TIMEOUT` when it outlives the limit. */
  async call(
    result: void | PromiseLike<void>,
    handler: { readonly name?: string | undefined },
  ): Promise<void> {
    if (result === undefined) return
    const watch = this.watch()
    watch.note(handler, undefined)
    const timeout = await this.settle(result, watch)
    if (timeout !== undefined) throw timeout
  }

  /**
   * Resolves undefined when `work` settles in time (rejecting as it did), or with a `TIMEOUT` error
   * when one handler call of it stayed pending for `timeoutMs`. What the abandoned work does later
   * is logged, never an unhandled rejection.
   */
  settle(work: PromiseLike<unknown>, watch: HandlerWatch): Promise<AzothError | undefined> {
    return new Promise((resolve, reject) => {
      const abort = new AbortController()
      let timedOut: AzothError | undefined
      let done = false
      Promise.resolve(work).then(
        () => {
          if (timedOut !== undefined) return this.#late(timedOut, undefined)
          done = true
          abort.abort()
          resolve(undefined)
        },
        (e: unknown) => {
          if (timedOut !== undefined) return this.#late(timedOut, e)
          done = true
          abort.abort()
          reject(e)
        },
      )
      void this.#watchdog(watch, abort.signal).then((timeout) => {
        if (done || timeout === undefined) return
        timedOut = timeout
        resolve(timeout)
      })
    })
  }

  /** Resolves with the timeout once the noted call has been pending `timeoutMs`; undefined on abort. */
  async #watchdog(watch: HandlerWatch, signal: AbortSignal): Promise<AzothError | undefined> {
    for (;;) {
      const calls = watch.calls
      const wait = watch.since + this.timeoutMs - this.#clock.now()
      if (wait > 0) {
        try {
          await this.#clock.sleep(wait, signal)
        } catch {
          return undefined
        }
        if (signal.aborted) return undefined
        // Another call began meanwhile: the limit counts from its start.
        if (watch.calls !== calls) continue
      }
      return this.#timeout(watch)
    }
  }

  #timeout(watch: HandlerWatch): AzothError {
    const handler = watch.handler ?? '(unnamed)'
    const on = watch.eventId === undefined ? '' : ` on event ${watch.eventId}`
    const error = new AzothError(
      'TIMEOUT',
      `handler '${handler}' of projector '${this.#projector}' did not settle within ${this.timeoutMs} ms${on}; ` +
        'it is abandoned and its writes are rolled back',
      {
        details: {
          projector: this.#projector,
          handler,
          eventId: watch.eventId,
          timeoutMs: this.timeoutMs,
        },
      },
    )
    this.#counters.timeouts++
    this.#logger.warn({ err: error, eventId: watch.eventId, handler }, 'handler timed out; abandoned')
    return error
  }

  #late(timeout: AzothError, error: unknown): void {
    const details = { eventId: timeout.details?.['eventId'], handler: timeout.details?.['handler'] }
    if (error === undefined) {
      this.#logger.info(details, 'an abandoned handler settled after its timeout; nothing it wrote was kept')
    } else {
      this.#logger.warn(
        { ...details, err: error },
        'an abandoned handler failed after its timeout; nothing it wrote was kept',
      )
    }
  }
}
