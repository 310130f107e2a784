import { describeValue } from './config.js'
import type { EventMetadata } from './envelope.js'
import { AzothError, ConflictError } from './errors.js'
import type { EventId } from './ids.js'
import { utf8Encode } from './utf8.js'

/** Longest stream name, in UTF-8 bytes. */
export const MAX_STREAM_NAME_BYTES = 255

/**
 * What an append expects of its stream: the version of the stream's last event (a `bigint` from
 * `0n`), `'no_stream'` (the stream must not exist yet), `'stream_exists'` (it must have an event)
 * or `'any'` (no check).
 */
export type ExpectedStreamVersion = bigint | 'no_stream' | 'stream_exists' | 'any'

/** One event to append to a stream: its type, its payload (CBOR-encoded) and optional metadata. */
export interface StreamEventInput<D = unknown, T extends string = string> {
  /** The event type (e.g. `'ItemAdded'`): non-empty, well-formed, at most 256 UTF-8 bytes. */
  readonly type: T
  /** The payload, encoded as CBOR (default `null`). */
  readonly data?: D
  /** Optional correlation data. */
  readonly metadata?: EventMetadata | undefined
}

/** What an append to a stream did, as known inside the writer. */
export interface StreamAppendOutcome {
  /** The version of the stream's last event after the append: pass it as the next expected version. */
  readonly nextExpectedStreamVersion: bigint
  /** True when this append wrote the stream's first event. */
  readonly createdNewStream: boolean
}

/** A stream and the version of its last event. */
export interface StreamInfo {
  /** The stream's name. */
  readonly name: string
  /** The version of its last event (its first event is version 0). */
  readonly version: bigint
}

/**
 * An expected stream version did not match: `details` (and the fields) carry the stream, what
 * was expected and what the stream actually is (`actual` is the version of its last event, or
 * `'no_stream'`). Nothing of the transaction was written. Its code is `CONFLICT`.
 */
export class ExpectedVersionConflictError extends ConflictError {
  /** The stream whose version did not match. */
  readonly stream: string
  /** What the append expected. */
  readonly expected: ExpectedStreamVersion
  /** The version of the stream's last event, or `'no_stream'` when it has none. */
  readonly actual: bigint | 'no_stream'

  constructor(stream: string, expected: ExpectedStreamVersion, actual: bigint | undefined) {
    const found = actual ?? 'no_stream'
    super(`stream '${stream}' expected version ${String(expected)} but is at ${String(found)}`, {
      details: { stream, expected, actual: found },
    })
    this.stream = stream
    this.expected = expected
    this.actual = found
  }
}

/** The category of a stream: the part of its name before the first `-` (the whole name without one). */
export function streamCategory(name: string): string {
  const dash = name.indexOf('-')
  return dash === -1 ? name : name.slice(0, dash)
}

/** The UTF-8 bytes of a valid stream name; anything else raises `INVALID_ARGUMENT`. */
export function streamNameBytes(name: unknown): Uint8Array {
  if (typeof name !== 'string' || name.length === 0 || !name.isWellFormed()) {
    throw new AzothError('INVALID_ARGUMENT', 'a stream name must be a non-empty well-formed string', {
      details: { stream: typeof name === 'string' ? name : describeValue(name) },
    })
  }
  const bytes = utf8Encode(name)
  if (bytes.length > MAX_STREAM_NAME_BYTES) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `a stream name must be at most ${MAX_STREAM_NAME_BYTES} UTF-8 bytes (got ${bytes.length})`,
      { details: { stream: name } },
    )
  }
  return bytes
}

/** Largest stream version: versions are stored as u64. */
const MAX_VERSION = (1n << 64n) - 1n

/** Returns `expected` (default `'any'`) when it is a valid expected version, else `INVALID_ARGUMENT`. */
export function checkExpectedVersion(expected: unknown): ExpectedStreamVersion {
  if (expected === undefined) return 'any'
  if (typeof expected === 'bigint') {
    if (expected >= 0n && expected < MAX_VERSION) return expected
  } else if (expected === 'any' || expected === 'no_stream' || expected === 'stream_exists') {
    return expected
  }
  throw new AzothError(
    'INVALID_ARGUMENT',
    "expectedStreamVersion must be a non-negative bigint, 'no_stream', 'stream_exists' or 'any'",
    { details: { expected: typeof expected === 'bigint' ? expected : describeValue(expected) } },
  )
}

/** True when a stream whose last version is `actual` (undefined: no stream) satisfies `expected`. */
export function versionMatches(expected: ExpectedStreamVersion, actual: bigint | undefined): boolean {
  if (expected === 'any') return true
  if (expected === 'no_stream') return actual === undefined
  if (expected === 'stream_exists') return actual !== undefined
  return actual === expected
}

/** One entry of a stream's index: the event's version in the stream and its global id. */
export interface StreamIndexEntry {
  /** The event's version in its stream. */
  readonly version: bigint
  /** The event's global id. */
  readonly id: EventId
}

/** Bounds of a read of a stream's index: inclusive versions, a direction and a count. */
export interface StreamIndexRange {
  /** The first version to return (forward) or the highest (backward); default: the stream's start or end. */
  readonly from?: bigint | undefined
  /** The last version to return, inclusive (forward: highest; backward: lowest). */
  readonly to?: bigint | undefined
  /** Return at most this many entries. */
  readonly maxCount?: number | undefined
  /** Ascending versions (default) or descending. */
  readonly direction?: 'forward' | 'backward' | undefined
}
