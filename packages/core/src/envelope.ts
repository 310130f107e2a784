import { allocateBytes } from './byte-slab.js'
import { decodeCborRange, encodeCbor } from './cbor.js'
import { AzothError, CorruptionError } from './errors.js'
import { type EventId, readEventId, writeEventId } from './ids.js'
import { LastString, StringCache } from './string-cache.js'
import { utf8DecodeStrict, utf8Encode } from './utf8.js'

/** The envelope format this version writes. Readers accept this and older versions. */
export const ENVELOPE_FORMAT_VERSION = 1

/** Longest event type, in UTF-8 bytes. */
export const MAX_EVENT_TYPE_BYTES = 256

const FLAG_RAW_PAYLOAD = 0b001
const FLAG_METADATA = 0b010
const FLAG_STREAM = 0b100
const KNOWN_FLAGS = FLAG_RAW_PAYLOAD | FLAG_METADATA | FLAG_STREAM
const FIXED_HEADER = 12 // version, flags, u64 timestamp, u16 type length

/** Correlation data carried beside an event's payload. */
export interface EventMetadata {
  /** Ties together every event caused by one request or workflow; copy it onto follow-up events. */
  readonly correlationId?: string
  /** The id (as a string) of the message or event that directly caused this one. */
  readonly causationId?: string
  readonly [key: string]: unknown
}

/** Where a stream event sits: its stream's name and its version in that stream. */
export interface EventStreamRef {
  /** The stream (e.g. an aggregate id such as `order-42`), 1 to 65535 UTF-8 bytes. */
  readonly name: string
  /** The event's version within the stream: gapless from 0n (stored as u64). */
  readonly version: bigint
}

/** What goes into an envelope. */
export interface EnvelopeInput {
  /**
   * The event type (e.g. `'OrderPlaced'`): non-empty, well-formed, at most 256
   * UTF-8 bytes.
   */
  readonly type: string
  /** Milliseconds since the epoch, from the database clock. */
  readonly timestamp: number
  /** Optional correlation data; must be a plain object encodable as CBOR. */
  readonly metadata?: EventMetadata | undefined
  /** The stream and version of a stream event (written by appends to a stream). */
  readonly stream?: EventStreamRef | undefined
  /** The payload: CBOR-encoded, unless `rawPayload` is set and it is a Uint8Array stored as is. */
  readonly payload: unknown
  /** Store a `Uint8Array` payload as is instead of CBOR-encoding it (e.g. already-serialised protobuf). */
  readonly rawPayload?: boolean | undefined
}

/**
 * A decoded event, as readers and handlers see it. `P` is its payload's type and `T` its type's
 * (a database opened with typed events hands out a union of these, one per event type).
 */
export interface AzothEvent<P = unknown, T extends string = string> {
  /** The event's gapless id in the log: 1 for the first event, then +1 per event. */
  readonly id: EventId
  /** The event type handlers are routed on. */
  readonly type: T
  /** When it was committed, in milliseconds since the epoch (database clock). */
  readonly timestamp: number
  /** Correlation data given at append, or undefined. */
  readonly metadata: EventMetadata | undefined
  /** The stream reference given at append, or undefined. */
  readonly stream: EventStreamRef | undefined
  /**
   * The decoded CBOR payload, or the raw bytes of an event written with `logBytes`. Events read
   * from a database decode it on first read and return the same value after.
   */
  readonly payload: P
}

/** The header of an envelope, read without decoding the payload. */
export interface EnvelopeHeader {
  /** The envelope format version the event was written with (see {@link ENVELOPE_FORMAT_VERSION}). */
  readonly version: number
  /** The event type. */
  readonly type: string
  /** Milliseconds since the epoch, from the database clock. */
  readonly timestamp: number
  /** Decoded metadata, or undefined when none was written. */
  readonly metadata: EventMetadata | undefined
  /** The stream reference, or undefined. */
  readonly stream: EventStreamRef | undefined
  /**
   * True when the payload bytes are raw (not CBOR); `decodeEnvelopePayload` then returns them as they are.
   */
  readonly rawPayload: boolean
  /** Offset of the payload within the envelope bytes. */
  readonly payloadOffset: number
}

// Event types repeat: their UTF-8 bytes are kept for the last few hundred distinct ones.
const typeBytesCache = new Map<string, Uint8Array>()

function typeBytesOf(type: string): Uint8Array {
  let bytes = typeBytesCache.get(type)
  if (bytes === undefined) {
    bytes = utf8Encode(type)
    if (typeBytesCache.size >= 512) typeBytesCache.clear()
    typeBytesCache.set(type, bytes)
  }
  return bytes
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new AzothError('INVALID_ARGUMENT', message, { details })
}

/**
 * Encodes an event envelope. Invalid input raises `INVALID_ARGUMENT`. The bytes may be a view into a
 * buffer shared with other outputs (like `Buffer.allocUnsafe`'s pool): mind `byteOffset`, and do not
 * transfer their `buffer` to a worker.
 */
export function encodeEnvelope(input: EnvelopeInput): Uint8Array {
  const { type, timestamp, metadata, stream, payload, rawPayload } = input
  if (typeof type !== 'string' || type.length === 0)
    invalid('event type must be a non-empty string', { type })
  const typeBytes = typeBytesOf(type)
  if (typeBytes.length > MAX_EVENT_TYPE_BYTES || !type.isWellFormed()) {
    invalid(`event type must be well-formed and at most ${MAX_EVENT_TYPE_BYTES} UTF-8 bytes`, { type })
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    invalid('timestamp must be a safe non-negative integer', { timestamp })
  let payloadBytes: Uint8Array
  if (rawPayload) {
    if (!(payload instanceof Uint8Array)) invalid('a raw payload must be a Uint8Array', {})
    payloadBytes = payload
  } else {
    try {
      payloadBytes = encodeCbor(payload)
    } catch (e) {
      throw new AzothError('INVALID_ARGUMENT', `payload of event '${type}' cannot be encoded as CBOR`, {
        cause: e,
      })
    }
  }
  let metaBytes: Uint8Array | undefined
  if (metadata !== undefined) {
    // Readers accept only a map here; refuse anything else now rather than write an unreadable event.
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
      invalid('metadata must be an object', { type })
    try {
      metaBytes = encodeCbor(metadata)
    } catch (e) {
      throw new AzothError('INVALID_ARGUMENT', `metadata of event '${type}' cannot be encoded as CBOR`, {
        cause: e,
      })
    }
  }
  let streamBytes: Uint8Array | undefined
  if (stream !== undefined) {
    if (typeof stream.version !== 'bigint' || stream.version < 0n || stream.version >= 1n << 64n)
      invalid('stream version must be a bigint in the u64 range', {})
    if (typeof stream.name !== 'string' || !stream.name.isWellFormed())
      invalid('stream name must be a well-formed string', {})
    streamBytes = utf8Encode(stream.name)
    if (streamBytes.length === 0 || streamBytes.length > 0xffff)
      invalid('stream name must be 1..65535 bytes', {})
  }
  const size =
    FIXED_HEADER +
    typeBytes.length +
    (streamBytes ? 2 + streamBytes.length + 8 : 0) +
    (metaBytes ? 4 + metaBytes.length : 0) +
    payloadBytes.length
  const out = allocateBytes(size)
  out[0] = ENVELOPE_FORMAT_VERSION
  out[1] =
    (rawPayload ? FLAG_RAW_PAYLOAD : 0) | (metaBytes ? FLAG_METADATA : 0) | (streamBytes ? FLAG_STREAM : 0)
  writeEventId(out, 2, timestamp)
  out[10] = typeBytes.length >> 8
  out[11] = typeBytes.length & 0xff
  out.set(typeBytes, 12)
  let at = 12 + typeBytes.length
  // Byte stores, not a DataView: one more object per stream event than the event itself needs.
  if (streamBytes && stream) {
    const n = streamBytes.length
    out[at] = n >> 8
    out[at + 1] = n & 0xff
    out.set(streamBytes, at + 2)
    at += 2 + n
    const version = stream.version
    if (version <= MAX_SAFE_VERSION) writeEventId(out, at, Number(version))
    else {
      writeU32(out, at, Number(version >> 32n))
      writeU32(out, at + 4, Number(version & 0xffff_ffffn))
    }
    at += 8
  }
  if (metaBytes) {
    writeU32(out, at, metaBytes.length)
    out.set(metaBytes, at + 4)
    at += 4 + metaBytes.length
  }
  out.set(payloadBytes, at)
  return out
}

const MAX_SAFE_VERSION = BigInt(Number.MAX_SAFE_INTEGER)

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24
  out[at + 1] = (n >>> 16) & 0xff
  out[at + 2] = (n >>> 8) & 0xff
  out[at + 3] = n & 0xff
}

/** What a decode error names: a description, an event id (formatted only on error), or nothing. */
type Where = string | number | undefined

function corrupt(reason: string, subject: Where): never {
  const where = typeof subject === 'number' ? `event ${subject}` : subject
  throw new CorruptionError(`corrupt event envelope${where ? ` (${where})` : ''}: ${reason}`, {
    details: { where: where ?? 'event envelope', reason },
  })
}

function checkFixedHeader(bytes: Uint8Array, where: Where): number {
  if (bytes.length < FIXED_HEADER) corrupt(`${bytes.length} bytes is shorter than the header`, where)
  const version = bytes[0]!
  if (version === 0 || version > ENVELOPE_FORMAT_VERSION) corrupt(`unknown format version ${version}`, where)
  if ((bytes[1]! & ~KNOWN_FLAGS) !== 0) corrupt(`unknown flags 0x${bytes[1]!.toString(16)}`, where)
  const typeLength = (bytes[10]! << 8) | bytes[11]!
  if (typeLength === 0 || typeLength > MAX_EVENT_TYPE_BYTES || FIXED_HEADER + typeLength > bytes.length) {
    corrupt(`bad type length ${typeLength}`, where)
  }
  return typeLength
}

/**
 * Reads the event type without decoding metadata or payload: what the projector routes on.
 * `where` names the event in a `CORRUPTION` error (for example `event 42`).
 */
export function readEventType(bytes: Uint8Array, where?: string): string {
  return decodeType(bytes, checkFixedHeader(bytes, where), where)
}

// The projector reads every event's type: repeated types come from a cache of recent ones.
const typeCache = new StringCache(8) // 256 types

function decodeType(bytes: Uint8Array, typeLength: number, where: Where): string {
  const end = FIXED_HEADER + typeLength
  const cached = typeCache.get(bytes, FIXED_HEADER, end)
  if (cached !== undefined) return cached
  const type = utf8DecodeStrict(bytes, FIXED_HEADER, end)
  if (type === undefined) corrupt('event type is not valid UTF-8', where)
  typeCache.set(bytes, FIXED_HEADER, end, type)
  return type
}

/** Decodes everything but the payload. */
export function decodeEnvelopeHeader(bytes: Uint8Array, where?: string): EnvelopeHeader {
  return decodeHeader(bytes, where)
}

/**
 * The header of event `id`'s envelope; a `CORRUPTION` error names the event (the message
 * is built only on error: this runs once per event read).
 */
export function decodeEventHeader(bytes: Uint8Array, id: EventId): EnvelopeHeader {
  return decodeHeader(bytes, id)
}

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!
const u32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0

// Most streams are short: the versions below this are BigInts made once and shared (a bigint is
// a value, so nobody can tell), which spares an allocation per event read.
const SHARED_VERSIONS = 1_024
const sharedVersions = Array.from({ length: SHARED_VERSIONS }, (_, i) => BigInt(i))

// Stream versions are u64 on disk; below 2^53 one BigInt of a number is enough (no DataView per event).
function u64BigInt(b: Uint8Array, at: number): bigint {
  const hi = u32(b, at)
  const lo = u32(b, at + 4)
  if (hi === 0 && lo < SHARED_VERSIONS) return sharedVersions[lo]!
  return hi < 0x20_0000 ? BigInt(hi * 0x1_0000_0000 + lo) : (BigInt(hi) << 32n) | BigInt(lo)
}

// Reads go in id order, and the events of one append are stored side by side: runs of one stream
// are common, and its name comes back from here instead of being decoded once per event.
const lastStreamName = new LastString(64)

function decodeStreamName(bytes: Uint8Array, start: number, end: number, where: Where): string {
  const last = lastStreamName.get(bytes, start, end)
  if (last !== undefined) return last
  const name = utf8DecodeStrict(bytes, start, end)
  if (name === undefined) corrupt('stream name is not valid UTF-8', where)
  lastStreamName.set(bytes, start, end, name)
  return name
}

function decodeHeader(bytes: Uint8Array, where: Where): EnvelopeHeader {
  const typeLength = checkFixedHeader(bytes, where)
  const flags = bytes[1]!
  const ts = readEventId(bytes, 2)
  if (ts < 0) corrupt('timestamp out of range', where)
  const type = decodeType(bytes, typeLength, where)
  let at = FIXED_HEADER + typeLength
  let stream: EventStreamRef | undefined
  if (flags & FLAG_STREAM) {
    if (at + 2 > bytes.length) corrupt('stream name length truncated', where)
    const n = u16(bytes, at)
    if (n === 0 || at + 2 + n + 8 > bytes.length) corrupt('stream truncated', where)
    stream = {
      name: decodeStreamName(bytes, at + 2, at + 2 + n, where),
      version: u64BigInt(bytes, at + 2 + n),
    }
    at += 2 + n + 8
  }
  let metadata: EventMetadata | undefined
  if (flags & FLAG_METADATA) {
    if (at + 4 > bytes.length) corrupt('metadata length truncated', where)
    const n = u32(bytes, at)
    if (n === 0 || at + 4 + n > bytes.length) corrupt('metadata truncated', where)
    const m =
      where === undefined
        ? decodeCborRange(bytes, at + 4, at + 4 + n, 'event metadata', undefined)
        : decodeCborRange(bytes, at + 4, at + 4 + n, 'metadata', where)
    if (m === null || typeof m !== 'object' || Array.isArray(m)) corrupt('metadata is not a map', where)
    metadata = m as EventMetadata
    at += 4 + n
  }
  return {
    version: bytes[0]!,
    type,
    timestamp: ts,
    metadata,
    stream,
    rawPayload: (flags & FLAG_RAW_PAYLOAD) !== 0,
    payloadOffset: at,
  }
}

/** Decodes the payload of an envelope whose header was read with {@link decodeEnvelopeHeader}. */
export function decodeEnvelopePayload(bytes: Uint8Array, header: EnvelopeHeader, where?: string): unknown {
  return decodePayload(bytes, header, where)
}

/**
 * @internal The payload of event `id`'s envelope, which starts at `start` (its header's
 * `payloadOffset`) and is raw when `raw`; a `CORRUPTION` error names the event.
 */
export function decodeEventPayloadAt(bytes: Uint8Array, start: number, raw: boolean, id: EventId): unknown {
  return decodePayloadAt(bytes, start, raw, id)
}

function decodePayload(bytes: Uint8Array, header: EnvelopeHeader, where: Where): unknown {
  return decodePayloadAt(bytes, header.payloadOffset, header.rawPayload, where)
}

function decodePayloadAt(bytes: Uint8Array, start: number, raw: boolean, where: Where): unknown {
  if (raw) return bytes.subarray(start)
  if (start === bytes.length) corrupt('payload is empty', where)
  return where === undefined
    ? decodeCborRange(bytes, start, bytes.length, 'event payload', undefined)
    : decodeCborRange(bytes, start, bytes.length, 'payload', where)
}

/** Decodes a whole event. Damaged bytes raise `CORRUPTION` naming the event id. */
export function decodeEvent<P = unknown>(id: EventId, bytes: Uint8Array): AzothEvent<P> {
  const header = decodeHeader(bytes, id)
  return {
    id,
    type: header.type,
    timestamp: header.timestamp,
    metadata: header.metadata,
    stream: header.stream,
    payload: decodePayload(bytes, header, id) as P,
  }
}
