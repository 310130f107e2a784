// @azothdb/core/internal: helpers Azoth's own packages share. Not for applications: names and
// signatures here change without notice in any release (see the README).
export { allocateBytes } from './byte-slab.js'
export { canonicalize, decodeCbor, encodeCbor } from './cbor.js'
export {
  checkArgument,
  checkArgumentFields,
  checkInteger,
  checkKnownFields,
  checkNumber,
  checkOneOf,
  checkOption,
  describeValue,
  optional,
  type Rule,
  rules,
  withMethods,
} from './config.js'
export { CRC32C_TABLES, crc32c } from './crc32c.js'
export {
  decodeEnvelopeHeader,
  decodeEnvelopePayload,
  decodeEventHeader,
  ENVELOPE_FORMAT_VERSION,
  type EnvelopeHeader,
  MAX_EVENT_TYPE_BYTES,
  readEventType,
} from './envelope.js'
export { toError } from './errors.js'
export { compileEventFilter, type HeaderFilter } from './event-filter.js'
export { FILE_SYSTEM, type FileSystem, fileSystemOf, fsyncPathSync, nodeFileSystem } from './file-system.js'
export { HeadFollower } from './head-follower.js'
export { idempotencyKeyBytes, resolveIdempotencyWindow } from './idempotency.js'
export { eventIdBytes, isEventId, readEventId, writeEventId } from './ids.js'
export { encodeKey, hashKey, keyId, keyToString } from './keys.js'
export { decodeEventLazily, eventFromHeader } from './lazy-event.js'
export { checkEventSize, checkKeySize, checkValueSize, resolveLimits } from './limits.js'
export { isProcessAlive } from './pid-file-lock.js'
export { acquireProcessLock, type ProcessLock } from './process-lock.js'
export {
  checkExpectedVersion,
  MAX_STREAM_NAME_BYTES,
  type StreamIndexEntry,
  type StreamIndexRange,
  streamNameBytes,
  versionMatches,
} from './streams.js'
export {
  type StripeLease,
  StripeLockManager,
  type StripeLockOptions,
  type StripeLockStats,
} from './stripe-locks.js'
export { isEventDefinitions } from './typed-events.js'
export { bytesEqual, compareBytes, compareUtf8 } from './typed-value.js'
export { TYPED_VALUE_TAGS } from './typed-value-codec.js'
export { utf8DecodeStrict, utf8Encode, utf8Length } from './utf8.js'
export { ProblemList } from './verify-report.js'
