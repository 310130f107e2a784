import { isAzothError } from '@azothdb/core'
import type { StripeLockStats } from '@azothdb/core/internal'
import { LatencyHistogram, type LatencySummary } from './latency-histogram.js'

/** Counters of the transaction pipeline. */
export interface TransactionMetrics {
  /** Transactions acknowledged as committed. */
  readonly committed: number
  /** Transactions that rejected, for any reason. */
  readonly failed: number
  /** Rejections by a `require*` or `validate` check (`PREFLIGHT_FAILED`). */
  readonly preflightFailures: number
  /** `CONFLICT` rejections: a preflight read changed before commit, or a stream expected version failed. */
  readonly conflicts: number
  /** Rejections because stripe locks were not free in time (`LOCK_TIMEOUT`). */
  readonly lockTimeouts: number
  /** Rejections for touching a key that was not declared (`UNDECLARED_KEY`). */
  readonly undeclaredKeys: number
  /** Transactions that queued behind another holder of a stripe. */
  readonly lockWaits: number
  /** From `execute` to acknowledgement, preflight included. */
  readonly latencyMs: LatencySummary
}

/** Counts transaction outcomes by error code; one per database. */
export class CommitMetrics {
  private committed = 0
  private failed = 0
  private preflightFailures = 0
  private conflicts = 0
  private lockTimeouts = 0
  private undeclaredKeys = 0
  private readonly latency = new LatencyHistogram()

  recordCommit(ms: number): void {
    this.committed++
    this.latency.record(ms)
  }

  recordFailure(e: unknown): void {
    this.failed++
    if (isAzothError(e, 'PREFLIGHT_FAILED')) this.preflightFailures++
    else if (isAzothError(e, 'CONFLICT')) this.conflicts++
    else if (isAzothError(e, 'LOCK_TIMEOUT')) this.lockTimeouts++
    else if (isAzothError(e, 'UNDECLARED_KEY')) this.undeclaredKeys++
  }

  snapshot(locks: StripeLockStats): TransactionMetrics {
    return {
      committed: this.committed,
      failed: this.failed,
      preflightFailures: this.preflightFailures,
      conflicts: this.conflicts,
      lockTimeouts: this.lockTimeouts,
      undeclaredKeys: this.undeclaredKeys,
      lockWaits: locks.waits,
      latencyMs: this.latency.summary(),
    }
  }
}
