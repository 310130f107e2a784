export { allocateBytes } from './byte-slab.js'
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
export { canonicalize, decodeCbor, encodeCbor } from './cbor.js'
export { type Clock, fixedClock, ManualClock, systemClock } from './clock.js'
export { checkInteger, checkKnownFields, checkNumber, checkOneOf, type Durability } from './config.js'
export {
  type AzothEvent,
  decodeEnvelopeHeader,
  decodeEnvelopePayload,
  decodeEvent,
  ENVELOPE_FORMAT_VERSION,
  type EnvelopeHeader,
  type EnvelopeInput,
  type EventMetadata,
  type EventStreamRef,
  encodeEnvelope,
  MAX_EVENT_TYPE_BYTES,
  readEventType,
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
  toError,
} from './errors.js'
export type { EventHandler } from './event-handler.js'
export type { EventLog, EventLogStats, EventRange, EventRecord } from './event-log.js'
export { type EventId, eventIdBytes, isEventId, readEventId, writeEventId } from './ids.js'
export { encodeKey, hashKey, type Key, keyId, keyToString } from './keys.js'
export {
  checkEventSize,
  checkKeySize,
  checkValueSize,
  DEFAULT_LIMITS,
  type Limits,
  resolveLimits,
} from './limits.js'
export { type LogFn, type Logger, silentLogger } from './logger.js'
export { acquireProcessLock, type ProcessLock } from './process-lock.js'
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
  type StripeLease,
  StripeLockManager,
  type StripeLockOptions,
  type StripeLockStats,
} from './stripe-locks.js'
export {
  type ArrayValue,
  type BoolValue,
  type BytesValue,
  bytesEqual,
  compareBytes,
  compareUtf8,
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
export { decodeTypedValue, encodeTypedValue, TYPED_VALUE_TAGS } from './typed-value-codec.js'
export { utf8DecodeStrict, utf8Encode, utf8Length } from './utf8.js'
