import type { CommitOptions, CommitResult, Key, WriteFn } from '@azothdb/core'
import type { StripeLease } from '@azothdb/core/internal'
import type { CommittedState } from './preflight.js'

/** What a Transaction needs from its database. */
export interface TransactionHost {
  readonly state: CommittedState
  /** Raises `CLOSED`, `READ_ONLY` or `SEALED` when no transaction may start. */
  checkWritable(): void
  /** The lease at once when the stripes are free, else a promise of it. */
  lock(exclusive: readonly Key[], shared: readonly Key[]): StripeLease | Promise<StripeLease>
  commit<R>(fn: WriteFn<R>, options?: CommitOptions): Promise<CommitResult<R>>
  recordCommit(latencyMs: number): void
  recordFailure(error: unknown): void
}
