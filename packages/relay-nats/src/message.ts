import { headers, type MsgHdrs } from '@nats-io/transport-node'
import { AzothError, type AzothEvent } from 'azothdb'

/**
 * The headers the relay puts on every message. String values that may hold any character (type,
 * stream, metadata) are URI-encoded: `decodeURIComponent` gives them back.
 */
export const RELAY_HEADERS = {
  /** JetStream's de-duplication id: `<source>:<event id>`. */
  msgId: 'Nats-Msg-Id',
  /** The event's id in the database (decimal). */
  eventId: 'Azoth-Event-Id',
  /** The event type (URI-encoded). */
  eventType: 'Azoth-Event-Type',
  /** The commit time, milliseconds since the epoch (decimal). */
  timestamp: 'Azoth-Timestamp',
  /** The stream name of a stream event (URI-encoded); absent otherwise. */
  stream: 'Azoth-Stream',
  /** The version of a stream event in its stream (decimal); absent otherwise. */
  streamVersion: 'Azoth-Stream-Version',
  /** The event's metadata as JSON (URI-encoded); absent when it has none. */
  metadata: 'Azoth-Metadata',
  /** The relay's `source` option: which database the event comes from. */
  source: 'Azoth-Source',
  /** `application/json`, or `application/octet-stream` for raw bytes. */
  contentType: 'Content-Type',
} as const

/** The data and content type of one message. */
export interface EncodedPayload {
  /** The message body. */
  readonly data: Uint8Array
  /** Its `Content-Type` header. */
  readonly contentType: string
}

const utf8 = new TextEncoder()

// JSON has no bigint and no bytes: write them as the strings a consumer can parse back (decimal and
// base64). Maps, Sets and other objects JSON would turn into `{}` are refused, never flattened.
function jsonValue(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  if (value instanceof Map || value instanceof Set)
    throw new TypeError(`a ${value.constructor.name} has no JSON form`)
  return value
}

/**
 * The default payload encoding: raw bytes (`logBytes` events) as they are, anything else as JSON
 * (bigints as decimal strings, byte arrays as base64 strings). A payload JSON cannot carry
 * faithfully (a Map, a Set) raises `INVALID_ARGUMENT`: pass an `encode` option for those.
 */
export function encodeJson(event: AzothEvent): EncodedPayload {
  if (event.payload instanceof Uint8Array)
    return { data: event.payload, contentType: 'application/octet-stream' }
  let json: string | undefined
  try {
    json = JSON.stringify(event.payload, jsonValue)
  } catch (e) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `the payload of event ${event.id} has no JSON form: pass an encode option`,
      {
        cause: e,
        details: { eventId: event.id },
      },
    )
  }
  return { data: utf8.encode(json ?? 'null'), contentType: 'application/json' }
}

/** The headers of the message for `event`. */
export function messageHeaders(event: AzothEvent, source: string, contentType: string): MsgHdrs {
  const h = headers()
  h.set(RELAY_HEADERS.msgId, `${source}:${event.id}`)
  h.set(RELAY_HEADERS.eventId, String(event.id))
  h.set(RELAY_HEADERS.eventType, encodeURIComponent(event.type))
  h.set(RELAY_HEADERS.timestamp, String(event.timestamp))
  if (event.stream !== undefined) {
    h.set(RELAY_HEADERS.stream, encodeURIComponent(event.stream.name))
    h.set(RELAY_HEADERS.streamVersion, event.stream.version.toString())
  }
  if (event.metadata !== undefined)
    h.set(RELAY_HEADERS.metadata, encodeURIComponent(JSON.stringify(event.metadata, jsonValue)))
  h.set(RELAY_HEADERS.source, source)
  h.set(RELAY_HEADERS.contentType, contentType)
  return h
}
