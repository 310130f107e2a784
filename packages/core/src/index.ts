// The public surface of @azothdb/core: what its README documents. Helpers shared only by Azoth's
// own packages live behind '@azothdb/core/internal' (internal.ts), which carries no stability promise.
export type {
  CanonicalStore,
  CommitResult,
  CommitStats,
  EventSource,
  RestoreCanonicalStore,
  ScanOptions,
  StateEntry,
  StateReader,
  StateSnapshot,
  StoreBackupInfo,
  WriteContext,
  WriteFn,
} from './canonical-store.js'
export { type Clock, fixedClock, ManualClock, systemClock } from './clock.js'
export type { Durability } from './config.js'
export {
  type AzothEvent,
  decodeEvent,
  type EnvelopeInput,
  type EventMetadata,
  type EventStreamRef,
  encodeEnvelope,
} from './envelope.js'
export {
  AZOTH_ERROR_CODES,
  AzothError,
  type AzothErrorCode,
  type AzothErrorDetails,
  type AzothErrorOptions,
  ClosedError,
  ConfigError,
  ConflictError,
  CorruptionError,
  isAzothError,
  LockedError,
  LockTimeoutError,
  PreflightFailedError,
  TypeMismatchError,
} from './errors.js'
export type { EventFilterOptions } from './event-filter.js'
export type { EventHandler } from './event-handler.js'
export type { EventLog, EventLogStats, EventRange, EventRecord } from './event-log.js'
export {
  type CommitOptions,
  DEFAULT_IDEMPOTENCY_WINDOW,
  type IdempotencyWindow,
  MAX_IDEMPOTENCY_KEY_BYTES,
} from './idempotency.js'
export type { EventId } from './ids.js'
export type { Key } from './keys.js'
export { DEFAULT_LIMITS, type Limits } from './limits.js'
export { type LogFn, type Logger, silentLogger } from './logger.js'
export {
  type AppliedMigration,
  type Migration,
  type MigrationHistory,
  type MigrationTarget,
  Migrator,
} from './migrator.js'
export type {
  DatabaseProjectionStore,
  ProjectionBackend,
  ProjectionOpenContext,
} from './projection-backend.js'
export type {
  DeadLetter,
  DeadLetterQuery,
  DeadLetterStatus,
  DeadLetterStore,
  NewDeadLetter,
  ProjectionBackupInfo,
  ProjectionStore,
  ProjectionTxControl,
} from './projection-store.js'
export {
  type ExpectedStreamVersion,
  ExpectedVersionConflictError,
  type StreamAppendOutcome,
  type StreamEventInput,
  type StreamInfo,
  streamCategory,
} from './streams.js'
export {
  type AnyEvents,
  defineEvents,
  type EventDefinitions,
  type EventOf,
  type EventPayloadArgs,
  type EventTypeOf,
  type RequiredData,
  type StreamEventOf,
} from './typed-events.js'
export {
  type ArrayValue,
  type BoolValue,
  type BytesValue,
  type F64Value,
  type I64Value,
  isTypedValue,
  type JsonValue,
  type SetValue,
  type StringValue,
  TypedValue,
  type TypedValueAccessors,
  type TypedValueKind,
  type U256Value,
} from './typed-value.js'
export { decodeTypedValue, encodeTypedValue } from './typed-value-codec.js'
export type { VerifyCounts, VerifyProblem, VerifyProblemKind, VerifyReport } from './verify-report.js'
