import type { EventId, EventLog, EventLogStats } from '@azothdb/core'

/** {@link EventLogStats} plus what the file log itself has to report. */
export interface FileEventLogStats extends EventLogStats {
  /** Bytes of torn tail cut off (or skipped, read-only) when the log was opened. */
  readonly recoveredBytes: number
  /** Background failures that were logged and survived (index sidecar writes). */
  readonly backgroundErrors: number
  /** Appends, flushes and syncs that failed (a full disk...) and were rejected with `IO`. */
  readonly failedWrites: number
}

/**
 * A crash-safe, append-only event log on plain files: segment files of checksummed records, a
 * sparse in-memory index per segment, buffered appends and asynchronous fdatasync. Open one with
 * `openFileEventLog`. Not safe for concurrent use from several processes except as one writer
 * plus read-only openers.
 */
export interface FileEventLog extends EventLog {
  /** True when opened with `readOnly`. */
  readonly readOnly: boolean
  /** The directory holding the segments. */
  readonly dir: string
  stats(): FileEventLogStats
  /**
   * For a read-only log: takes in what the writer appended since the open (or the last refresh),
   * and the segments it compacted away, and returns the new head; a writer's log is always
   * current and just returns its head. Raises `INVALID_ARGUMENT` when the writer cut the log below
   * what this reader had seen: reopen then.
   */
  refresh(): EventId
  /** Reads every record, checking every checksum; returns how many there are, `CORRUPTION` otherwise. */
  verify(): number
}
