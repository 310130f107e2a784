import { checkInteger, checkKnownFields, checkNumber } from '@azothdb/core/internal'

/** How much a projector applies per transaction, and how long it may wait to fill a batch. */
export interface BatchPolicy {
  /** Events per transaction at most. Default 1,000. */
  readonly maxEvents?: number
  /** Envelope bytes per transaction at most (one event always fits). Default 4 MiB. */
  readonly maxBytes?: number
  /**
   * In continuous mode, how long the projector may wait after new events arrive for a fuller batch
   * before applying them. Default 100 ms; 0 applies at once.
   */
  readonly maxLatencyMs?: number
}

/** A checked batch policy with every default filled in. */
export interface ResolvedBatchPolicy {
  /** Most events applied in one projection transaction (default 1,000). */
  readonly maxEvents: number
  /**
   * Most envelope bytes read into one batch (default 4 MiB); a single larger event still forms a batch of
   * one.
   */
  readonly maxBytes: number
  /**
   * In continuous mode, how long a partial batch may wait for more events before it is applied (default 100
   * ms).
   */
  readonly maxLatencyMs: number
}

/** Fills in defaults; bad values raise `CONFIG`. */
export function resolveBatchPolicy(policy: BatchPolicy = {}): ResolvedBatchPolicy {
  checkKnownFields('batch', policy, ['maxEvents', 'maxBytes', 'maxLatencyMs'])
  return {
    maxEvents: checkInteger('batch.maxEvents', policy.maxEvents ?? 1_000, 1, 1_000_000),
    maxBytes: checkInteger('batch.maxBytes', policy.maxBytes ?? 4 * 1024 * 1024, 1),
    maxLatencyMs: checkNumber('batch.maxLatencyMs', policy.maxLatencyMs ?? 100, 0),
  }
}
