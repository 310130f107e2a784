import type { Logger } from '@azothdb/core'

/** At most one record per this many milliseconds: a stalled disk slows every commit of a group at once. */
const RECORD_INTERVAL_MS = 1000

/**
 * Warns of transactions slower than a threshold (`slowCommitMs`). When many are slow together,
 * one record a second stands for them all, with how many it stands for and the slowest.
 */
export class SlowCommitLog {
  readonly #thresholdMs: number
  readonly #logger: Logger
  #lastRecordAt = Number.NEGATIVE_INFINITY
  #unrecorded = 0
  #slowestUnrecorded = 0

  /** `thresholdMs` 0 turns it off. */
  constructor(thresholdMs: number, logger: Logger) {
    this.#thresholdMs = thresholdMs
    this.#logger = logger
  }

  record(latencyMs: number): void {
    if (this.#thresholdMs === 0 || latencyMs <= this.#thresholdMs) return
    this.#unrecorded++
    if (latencyMs > this.#slowestUnrecorded) this.#slowestUnrecorded = latencyMs
    const now = performance.now()
    if (now - this.#lastRecordAt < RECORD_INTERVAL_MS) return
    this.#logger.warn(
      {
        latencyMs: Math.round(latencyMs * 1000) / 1000,
        thresholdMs: this.#thresholdMs,
        slowCommits: this.#unrecorded,
        slowestMs: Math.round(this.#slowestUnrecorded * 1000) / 1000,
      },
      'slow commit',
    )
    this.#lastRecordAt = now
    this.#unrecorded = 0
    this.#slowestUnrecorded = 0
  }
}
