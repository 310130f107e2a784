import type { CommitResult, WriteFn } from '@azoth/core'

/** A logical transaction waiting for the writer. */
export interface QueuedTransaction {
  readonly fn: WriteFn<unknown>
  readonly resolve: (result: CommitResult<unknown>) => void
  readonly reject: (error: unknown) => void
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
  private running = false
  private paused = false
  private lastAnswered: Promise<void> = Promise.resolve()
  private idleWaiters: (() => void)[] = []

  constructor(private readonly writeGroup: GroupWriter) {}

  get length(): number {
    return this.queue.length
  }

  enqueue<R>(fn: WriteFn<R>): Promise<CommitResult<R>> {
    return new Promise<CommitResult<R>>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as QueuedTransaction['resolve'], reject })
      this.schedule()
    })
  }

  /** Stops taking new groups; resolves once the group in flight is committed and answered. */
  async pause(): Promise<void> {
    this.paused = true
    await this.idle()
  }

  resume(): void {
    this.paused = false
    this.schedule()
  }

  /** Rejects every waiting transaction (used on close after a failure). */
  rejectAll(error: unknown): void {
    const waiting = this.queue
    this.queue = []
    for (const tx of waiting) tx.reject(error)
  }

  /** Resolves when nothing is running, the last group is answered, and (unless paused) the queue is empty. */
  idle(): Promise<void> {
    if (!this.running && (this.paused || this.queue.length === 0)) return this.lastAnswered
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve)).then(() => this.lastAnswered)
  }

  private schedule(): void {
    if (this.running || this.paused || this.queue.length === 0) return
    this.running = true
    // Let every caller of this event-loop turn join the first group.
    queueMicrotask(() => void this.run())
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.paused) {
        const group = this.queue
        this.queue = []
        try {
          this.lastAnswered = (await this.writeGroup(group)).answered
        } catch (e) {
          // The writer answers its members itself; this only guards against a bug there.
          for (const tx of group) tx.reject(e)
        }
      }
    } finally {
      this.running = false
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const w of waiters) w()
      this.schedule()
    }
  }
}
