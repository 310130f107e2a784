import {
  type AnyEvents,
  type Clock,
  ClosedError,
  type EventFilterOptions,
  type EventOf,
  type EventSource,
} from '@azothdb/core'
import { checkArgumentFields, decodeEventLazily, HeadFollower, rules } from '@azothdb/core/internal'
import { eventFilter } from './event-filter.js'

/** Options of `db.subscribe`; the filters (`eventTypes`, `streams`, `streamPrefix`) skip events unread. */
export interface SubscribeOptions extends EventFilterOptions {
  /** First event id to deliver (default: the next event after the current head). */
  readonly from?: number
  /** Events read per step while catching up (default 256). */
  readonly batchSize?: number
  /**
   * How often a caught-up feed looks for new events without a commit notification, in ms of the
   * database clock. A read-only database gets none (the writer is another process): there it
   * defaults to 100.
   */
  readonly pollIntervalMs?: number
}

const SUBSCRIBE_OPTION_FIELDS = {
  from: rules.positiveInteger,
  batchSize: rules.positiveInteger,
  pollIntervalMs: rules.positiveNumber,
  // The filter's fields: eventFilter() checks their contents.
  eventTypes: rules.array,
  streams: rules.array,
  streamPrefix: rules.string,
}

/**
 * A live, pull-based feed of events: first the stored ones from `from`, then each new commit as
 * it lands. `caughtUp` resolves the first time the feed reaches the head.
 *
 * @example
 * const feed = db.subscribe({ from: 1 })
 * feed.caughtUp.then(() => console.log('live'))
 * for await (const event of feed) handle(event)
 */
export class Subscription<E = AnyEvents> implements AsyncIterable<EventOf<E>> {
  /**
   * Resolves with the head the first time the feed has delivered everything up to it; rejects
   * with `CLOSED` when the feed is closed before that.
   */
  readonly caughtUp: Promise<number>
  #resolveCaughtUp!: (head: number) => void
  #rejectCaughtUp!: (error: Error) => void
  readonly #source: EventSource
  // biome-ignore lint/suspicious/noExplicitAny: the registry holds feeds of every event map.
  readonly #onClose: (s: Subscription<any>) => void
  readonly #pollIntervalMs: number | undefined
  readonly #follower: HeadFollower
  // Aborted by close(): ends a wait for the next commit at once.
  readonly #closing = new AbortController()
  readonly #batchSize: number
  readonly #filter: ReturnType<typeof eventFilter>
  #isCaughtUp = false
  #next: number

  /** @internal the database makes feeds: `db.subscribe()`. */
  constructor(
    source: EventSource,
    clock: Clock,
    options: SubscribeOptions,
    // biome-ignore lint/suspicious/noExplicitAny: the registry holds feeds of every event map.
    onClose: (s: Subscription<any>) => void,
    defaultPollIntervalMs?: number,
  ) {
    this.#source = source
    this.#onClose = onClose
    checkArgumentFields('subscribe options', options, SUBSCRIBE_OPTION_FIELDS)
    const from = options.from ?? source.head() + 1
    const batchSize = options.batchSize ?? 256
    const poll = options.pollIntervalMs ?? defaultPollIntervalMs
    this.#filter = eventFilter(options)
    this.#next = from
    this.#batchSize = batchSize
    this.#pollIntervalMs = poll
    this.caughtUp = new Promise((resolve, reject) => {
      this.#resolveCaughtUp = resolve
      this.#rejectCaughtUp = reject
    })
    // Nobody has to await it: a feed closed early must not leave an unhandled rejection.
    this.caughtUp.catch(() => undefined)
    this.#follower = new HeadFollower(source, clock)
  }

  /** True once the feed has reached the head at least once. */
  get live(): boolean {
    return this.#isCaughtUp
  }

  /** The id of the next event this feed will deliver. */
  get position(): number {
    return this.#next
  }

  /** Delivers events in id order, waiting for new commits once caught up, until `close()`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<EventOf<E>> {
    const closing = this.#closing.signal
    try {
      while (!closing.aborted) {
        const head = this.#source.head()
        if (this.#next <= head) {
          const to = Math.min(head, this.#next + this.#batchSize - 1)
          for (const record of this.#source.events({ from: this.#next, to })) {
            this.#next = record.id + 1
            const filter = this.#filter
            if (filter === undefined) yield decodeEventLazily(record.id, record.bytes) as EventOf<E>
            else {
              const event = filter(record)
              if (event !== undefined) yield event as EventOf<E>
            }
            if (closing.aborted) return
          }
          // Events dropped by retention (compactEventLog) are gone: move past them, never spin.
          if (this.#next <= to) this.#next = to + 1
          continue
        }
        if (!this.#isCaughtUp) {
          this.#isCaughtUp = true
          this.#resolveCaughtUp(head)
        }
        await this.#follower.wait(() => this.#source.head() >= this.#next, this.#pollIntervalMs, closing)
      }
    } finally {
      this.close()
    }
  }

  /** Ends the feed: a waiting `for await` loop finishes. */
  close(): void {
    if (this.#closing.signal.aborted) return
    this.#closing.abort()
    this.#follower.close()
    if (!this.#isCaughtUp) this.#rejectCaughtUp(new ClosedError('subscription'))
    this.#onClose(this)
  }
}
