export type { VerifyCounts, VerifyProblem, VerifyProblemKind, VerifyReport } from '@azothdb/core'
export {
  type AnyEvents,
  type ArrayValue,
  AZOTH_ERROR_CODES,
  AzothError,
  type AzothErrorCode,
  type AzothEvent,
  type BoolValue,
  type BytesValue,
  type Clock,
  ClosedError,
  type CommitStats,
  ConfigError,
  ConflictError,
  CorruptionError,
  DEFAULT_IDEMPOTENCY_WINDOW,
  DEFAULT_LIMITS,
  type DeadLetter,
  type DeadLetterStatus,
  type Durability,
  defineEvents,
  type EventDefinitions,
  type EventFilterOptions,
  type EventHandler,
  type EventMetadata,
  type EventOf,
  type EventPayloadArgs,
  type EventStreamRef,
  type EventTypeOf,
  type ExpectedStreamVersion,
  ExpectedVersionConflictError,
  type F64Value,
  fixedClock,
  type I64Value,
  type IdempotencyWindow,
  isAzothError,
  type JsonValue,
  type Key,
  type Limits,
  LockedError,
  LockTimeoutError,
  type Logger,
  ManualClock,
  PreflightFailedError,
  type ProjectionBackend,
  type ProjectionTxControl,
  type ScanOptions,
  type SetValue,
  type StateEntry,
  type StreamAppendOutcome,
  type StreamEventInput,
  type StreamEventOf,
  type StreamInfo,
  type StringValue,
  silentLogger,
  streamCategory,
  systemClock,
  TypedValue,
  type TypedValueKind,
  TypeMismatchError,
  type U256Value,
} from '@azothdb/core'
export {
  type Migration,
  type SqliteProjectionOptions,
  type SqliteTx,
  type SqlParams,
  type SqlRow,
  type SqlRunResult,
  type SqlStatement,
  sqliteProjection,
} from '@azothdb/projection-sqlite'
export {
  type BatchPolicy,
  type CircuitBreakerOptions,
  type DeadLetterQueueOptions,
  type DeadLetterRetryResult,
  ErrorStrategy,
  type FailureContext,
  type FailureDecision,
  type ProjectorGroup,
  type ProjectorMetrics,
  type ProjectorState,
  type RetryWithBackoffOptions,
  type RunOnceOptions,
  type RunProgress,
  type RunStats,
} from '@azothdb/projector'
export { Azoth } from './azoth.js'
export type { AzothMetrics } from './azoth-metrics.js'
export type { BackupOptions } from './backup.js'
export type { BackupManifest, BackupProjection } from './backup-manifest.js'
export {
  type CommandDecision,
  type HandleCommandOptions,
  type HandleCommandResult,
  handleCommand,
} from './command-handler.js'
export type { TransactionMetrics } from './commit-metrics.js'
export type { EventLogKind } from './database-layout.js'
export type { DatabaseProjections } from './database-projections.js'
export type { DatabaseStreams } from './database-streams.js'
export type { DeadLetters } from './dead-letters.js'
export { EventProcessor } from './event-processor.js'
export type { EventQuery } from './event-reader.js'
export type { ExecuteContext, LogEntry, ValueInput } from './execute-context.js'
export type { FileChecksum } from './file-checksums.js'
export type { IngestionState } from './ingestion-state.js'
export type { LatencyBucket, LatencySummary } from './latency-histogram.js'
export type { MetricsOptions } from './metrics.js'
export type { AzothOptions } from './options.js'
export type { PreflightContext } from './preflight.js'
export type { Snapshot } from './snapshot.js'
export type { Projector, ProjectorBuilder, ProjectorOptions, SqlEventHandler } from './sql-projection.js'
export type {
  AggregateStreamOptions,
  AggregateStreamResult,
  AppendToStreamOptions,
  AppendToStreamResult,
  ReadStreamOptions,
  ReadStreamResult,
  StreamsQuery,
} from './streams.js'
export type { SubscribeOptions, Subscription } from './subscription.js'
export type { CommitInfo, Transaction } from './transaction.js'
export type { WriteBatch } from './write-batch.js'
