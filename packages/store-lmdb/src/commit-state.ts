import type { CommitStats, EventId, Logger } from '@azothdb/core'
import { toError } from '@azothdb/core/internal'

/**
 * The heads and counters of the commit pipeline, in one place: the group writer advances them,
 * the store reads them and hears of each new head.
 */
export class CommitState {
  commits = 0
  failedCommits = 0
  groups = 0
  eventsAppended = 0
  groupMembers = 0
  maxGroupSize = 0
  /** The last group that reached LMDB failed to commit there (see settleFailedCommit). */
  lmdbCommitFailed = false
  /** Head of the last durable, answered group: what readers see. */
  committedHead: EventId
  /** Head of the last group committed to LMDB, durable or not yet: where the next group's ids start. */
  allocatedHead: EventId
  readonly #listeners = new Set<(head: EventId) => void>()
  readonly #logger: Logger

  constructor(head: EventId, logger: Logger) {
    this.committedHead = head
    this.allocatedHead = head
    this.#logger = logger
  }

  /** A group of `members` ran, `failures` of them threw. */
  countGroup(members: number, failures: number): void {
    this.groups++
    this.groupMembers += members
    if (members > this.maxGroupSize) this.maxGroupSize = members
    this.failedCommits += failures
  }

  /** A group is durable and answered: readers may see up to `head`, and listeners hear of it. */
  answered(head: EventId): void {
    if (head <= this.committedHead) return
    this.committedHead = head
    for (const listener of this.#listeners) {
      try {
        listener(head)
      } catch (e) {
        this.#logger.error({ err: toError(e) }, 'commit listener threw')
      }
    }
  }

  onCommit(listener: (head: EventId) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  clearListeners(): void {
    this.#listeners.clear()
  }

  stats(): CommitStats {
    return {
      commits: this.commits,
      failedCommits: this.failedCommits,
      groups: this.groups,
      eventsAppended: this.eventsAppended,
      meanGroupSize: this.groups === 0 ? 0 : this.groupMembers / this.groups,
      maxGroupSize: this.maxGroupSize,
    }
  }
}
