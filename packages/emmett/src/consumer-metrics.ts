import { isAzothError } from 'azothdb'

/** One processor's counters, as `consumer.metrics()` reports them (since the consumer was made). */
export interface AzothProcessorMetrics {
  /** The processor's `processorId`. */
  readonly processorId: string
  /**
   * The global position it goes on after: the last message of its last batch handled under this
   * consumer, or -1 before any (a batch that stopped the processor does not move it).
   */
  readonly position: number
  /** Messages of the batches it handled. */
  readonly messages: number
  /** Batches it handled. */
  readonly batches: number
  /**
   * Its failures: a handler or hook that threw or timed out, a result `STOP` carrying an error,
   * checkpoints of a batch that could not be stored. Each is also logged.
   */
  readonly errors: number
  /** Those of `errors` that were `TIMEOUT`: a handler or hook outliving `handlerTimeoutMs`. */
  readonly timeouts: number
  /** The last failure, or undefined when there was none. */
  readonly lastError: AzothProcessorError | undefined
}

/** A processor's last failure, as {@link AzothProcessorMetrics} reports it. */
export interface AzothProcessorError {
  /** The error's message. */
  readonly message: string
  /** Its `AzothError` code (`TIMEOUT`, ...), or undefined for an error of the processor's own. */
  readonly code: string | undefined
}

/** What `consumer.metrics()` returns. */
export interface AzothConsumerMetrics {
  /** The consumer's `consumerId`. */
  readonly consumerId: string
  /** Whether a run is under way (`isRunning`). */
  readonly running: boolean
  /** Failures of the consumer's own reading: following the database or reading its events (`CORRUPTION`, `IO`). */
  readonly errors: number
  /** Every processor's counters, by `processorId`. */
  readonly processors: Readonly<Record<string, AzothProcessorMetrics>>
}

interface Counters {
  position: number
  messages: number
  batches: number
  errors: number
  timeouts: number
  lastError: AzothProcessorMetrics['lastError']
}

/**
 * The consumer's counters. Every failure the consumer logs is counted here, so a failure that
 * only reached a log is still visible to monitoring. A closed database is not a failure.
 */
export class ConsumerCounters {
  readonly #processors = new Map<string, Counters>()
  #errors = 0

  /** A processor handled a batch of `messages` messages. */
  handled(processorId: string, messages: number): void {
    const c = this.#of(processorId)
    c.messages += messages
    c.batches++
  }

  /** A processor goes on after global position `position`. */
  moved(processorId: string, position: number): void {
    this.#of(processorId).position = position
  }

  /** A processor failed with `error`. */
  processorFailed(processorId: string, error: unknown): void {
    const c = this.#of(processorId)
    c.errors++
    if (isAzothError(error, 'TIMEOUT')) c.timeouts++
    c.lastError = {
      message: error instanceof Error ? error.message : String(error),
      code: isAzothError(error) ? error.code : undefined,
    }
  }

  /** The consumer's own reading failed. */
  readingFailed(): void {
    this.#errors++
  }

  /** The counters of `processorIds`, in that order, and the consumer's own. */
  snapshot(consumerId: string, running: boolean, processorIds: readonly string[]): AzothConsumerMetrics {
    const processors: Record<string, AzothProcessorMetrics> = {}
    for (const processorId of processorIds) {
      const c = this.#processors.get(processorId)
      processors[processorId] = {
        processorId,
        position: c?.position ?? -1,
        messages: c?.messages ?? 0,
        batches: c?.batches ?? 0,
        errors: c?.errors ?? 0,
        timeouts: c?.timeouts ?? 0,
        lastError: c?.lastError,
      }
    }
    return { consumerId, running, errors: this.#errors, processors }
  }

  #of(processorId: string): Counters {
    let c = this.#processors.get(processorId)
    if (c === undefined) {
      c = { position: -1, messages: 0, batches: 0, errors: 0, timeouts: 0, lastError: undefined }
      this.#processors.set(processorId, c)
    }
    return c
  }
}
