import { AzothError, type AzothEvent, ClosedError, decodeEvent, type EventSource } from '@azothdb/core'

/** Options of `db.subscribe`. */
export interface SubscribeOptions {
  /** First event id to deliver (default: the next event after the current head). */
  readonly from?: number
  /** Events read per step while catching up (default 256). */
  readonly batchSize?: number
  /**
   * How often a caught-up feed looks for new events without a commit notification, in ms. A
   * read-only database gets none (the writer is another process): there it defaults to 100.
   */
  readonly pollIntervalMs?: number
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
export class Subscription implements AsyncIterable<AzothEvent> {
  /**
   * Resolves with the head the first time the feed has delivered everything up to it; rejects
   * with `CLOSED` when the feed is closed before that.
   */
  readonly caughtUp: Promise<number>
  private resolveCaughtUp!: (head: number) => void
  private rejectCaughtUp!: (error: Error) => void
  private readonly pollIntervalMs: number | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private isCaughtUp = false
  private next: number
  private closed = false
  private wake: (() => void) | undefined
  private readonly unsubscribe: () => void
  private readonly batchSize: number

  constructor(
    private readonly source: EventSource,
    options: SubscribeOptions,
    private readonly onClose: (s: Subscription) => void,
    defaultPollIntervalMs?: number,
  ) {
    const from = options.from ?? source.head() + 1
    if (!Number.isSafeInteger(from) || from < 1) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        `subscribe: from must be an event id >= 1, got ${String(from)}`,
      )
    }
    const batchSize = options.batchSize ?? 256
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        `subscribe: batchSize must be a positive integer, got ${String(batchSize)}`,
      )
    }
    const poll = options.pollIntervalMs ?? defaultPollIntervalMs
    if (poll !== undefined && !(Number.isFinite(poll) && poll > 0)) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        `subscribe: pollIntervalMs must be a positive number, got ${String(poll)}`,
      )
    }
    this.next = from
    this.batchSize = batchSize
    this.pollIntervalMs = poll
    this.caughtUp = new Promise((resolve, reject) => {
      this.resolveCaughtUp = resolve
      this.rejectCaughtUp = reject
    })
    // Nobody has to await it: a feed closed early must not leave an unhandled rejection.
    this.caughtUp.catch(() => undefined)
    this.unsubscribe = source.onCommit(() => this.wake?.())
  }

  /** True once the feed has reached the head at least once. */
  get live(): boolean {
    return this.isCaughtUp
  }

  /** The id of the next event this feed will deliver. */
  get position(): number {
    return this.next
  }

  /** Delivers events in id order, waiting for new commits once caught up, until `close()`. */
  async *[Symbol.asyncIterator](): AsyncGenerator<AzothEvent> {
    try {
      while (!this.closed) {
        const head = this.source.head()
        if (this.next <= head) {
          const to = Math.min(head, this.next + this.batchSize - 1)
          for (const record of this.source.events({ from: this.next, to })) {
            this.next = record.id + 1
            yield decodeEvent(record.id, record.bytes)
            if (this.closed) return
          }
          // Events dropped by retention (compactEventLog) are gone: move past them, never spin.
          if (this.next <= to) this.next = to + 1
          continue
        }
        if (!this.isCaughtUp) {
          this.isCaughtUp = true
          this.resolveCaughtUp(head)
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve
          if (this.pollIntervalMs !== undefined) this.pollTimer = setTimeout(resolve, this.pollIntervalMs)
          // A commit may have landed between reading the head and arming the wake-up.
          if (this.source.head() >= this.next || this.closed) resolve()
        })
        this.wake = undefined
        clearTimeout(this.pollTimer)
      }
    } finally {
      this.close()
    }
  }

  /** Ends the feed: a waiting `for await` loop finishes. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    clearTimeout(this.pollTimer)
    if (!this.isCaughtUp) this.rejectCaughtUp(new ClosedError('subscription'))
    this.wake?.()
    this.onClose(this)
  }
}
