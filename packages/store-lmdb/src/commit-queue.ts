import type { CommitResult, WriteFn } from '@azothdb/core'
import type { IdempotencyClaim } from './idempotency-table.js'

/** A logical transaction waiting for the writer. */
export interface QueuedTransaction {
  readonly fn: WriteFn<unknown>
  readonly resolve: (result: CommitResult<unknown>) => void
  readonly reject: (error: unknown) => void
  /** The commit's idempotency key, checked in the writer before `fn` runs. */
  readonly claim: IdempotencyClaim | undefined
}

/**
 * Commits one group; resolves once it is committed (the next group may start), carrying a promise
 * that settles once every member is answered (after the group is durable).
 */
export type GroupWriter = (group: QueuedTransaction[]) => Promise<{ readonly answered: Promise<void> }>

/**
 * The FIFO queue of the single writer. Whatever arrived while the previous group was committing
 * becomes the next group, so concurrent callers share one LMDB transaction and one sync. The next
 * group starts as soon as the previous one is committed; its members are answered after it is durable.
 */
export class CommitQueue {
  private queue: QueuedTransaction[] = []
  /** Transactions that arrived while paused: they wait for `resume`. */
  private held: QueuedTransaction[] = []
  private running = false
  private paused = false
  private lastAnswered: Promise<void> = Promise.resolve()
  private idleWaiters: (() => void)[] = []

  constructor(private readonly writeGroup: GroupWriter) {}

  enqueue<R>(fn: WriteFn<R>, claim?: IdempotencyClaim): Promise<CommitResult<R>> {
    return new Promise<CommitResult<R>>((resolve, reject) => {
      const tx: QueuedTransaction = { fn, resolve: resolve as QueuedTransaction['resolve'], reject, claim }
      if (this.paused) this.held.push(tx)
      else {
        this.queue.push(tx)
        this.schedule()
      }
    })
  }

  /** Holds transactions that arrive from now on; resolves once those queued before are committed and answered. */
  async pause(): Promise<void> {
    this.paused = true
    await this.idle()
  }

  /** Lets held transactions go, in arrival order. */
  resume(): void {
    this.paused = false
    if (this.held.length > 0) {
      for (const tx of this.held) this.queue.push(tx)
      this.held = []
    }
    this.schedule()
  }

  /** Refuses every held transaction (they never reached the writer: nothing of them is written). */
  rejectHeld(error: () => unknown): void {
    const held = this.held
    this.held = []
    for (const tx of held) tx.reject(error())
  }

  /** Resolves when the queue is empty, nothing runs and the last group is answered. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return this.lastAnswered
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve)).then(() => this.lastAnswered)
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return
    this.running = true
    // setImmediate, not a microtask: callers woken by the previous group's acknowledgement reach
    // commit() through several awaits (locks, preflight); all of them join the next group this way.
    setImmediate(() => void this.run())
  }

  private async run(): Promise<void> {
    for (let first = true; this.queue.length > 0; first = false) {
      // Between groups, one event-loop turn lets the callers just answered come back in time to
      // join the next group instead of splitting it in two.
      if (!first) await new Promise<void>((resolve) => setImmediate(resolve))
      const group = this.queue
      this.queue = []
      try {
        this.lastAnswered = (await this.writeGroup(group)).answered
      } catch (e) {
        // The writer answers its members itself; this only guards against a bug there.
        for (const tx of group) tx.reject(e)
      }
    }
    this.running = false
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
