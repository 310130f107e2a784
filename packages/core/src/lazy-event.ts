import { type AzothEvent, decodeEventHeader, decodeEventPayloadAt, type EnvelopeHeader } from './envelope.js'
import type { EventId } from './ids.js'

// Events read from the log decode their payload on first access, so a reader that looks only at
// ids, types or streams never pays for CBOR. The event stays a plain object (Object.prototype,
// own enumerable `payload`), because callers compare, spread, clone and serialise events:
// `toEqual`/`deepStrictEqual` against a literal, `{ ...event }`, `structuredClone`, `postMessage`
// and `JSON.stringify` all read own enumerable properties, and a getter on a class prototype
// would silently drop the payload from every one of them. So `payload` is an own accessor: one
// shared getter function (a closure per event would give every event its own hidden class), its
// state kept in private fields stamped onto the object (invisible to all of the above, and still
// writable after `Object.freeze`). `__defineGetter__` defines it at about half the cost of
// `Object.defineProperty` (no descriptor object to read); an own accessor costs ~0.1 µs per event,
// far below a decode.

const UNREAD: unique symbol = Symbol('unread')

/** A base whose constructor returns the object it is given, so a subclass can stamp fields onto it. */
class Stamped {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: returning the target is how its fields get stamped
    return target
  }
}

/** Where an event's payload comes from, kept on the event itself. */
class PayloadSource extends Stamped {
  #id: EventId
  #bytes: Uint8Array
  // Where the payload starts, or its bitwise NOT for a raw payload: one number rather than the
  // header, which then need not outlive the decode (nor be allocated, once inlined).
  #payloadAt: number
  #payload: unknown = UNREAD

  constructor(event: object, id: EventId, bytes: Uint8Array, header: EnvelopeHeader) {
    super(event)
    this.#id = id
    this.#bytes = bytes
    this.#payloadAt = header.rawPayload ? ~header.payloadOffset : header.payloadOffset
  }

  /** The payload of an event made by {@link decodeEventLazily}: decoded once, then the same value. */
  static payloadOf(event: PayloadSource): unknown {
    let payload = event.#payload
    if (payload === UNREAD) {
      const at = event.#payloadAt
      payload = decodeEventPayloadAt(event.#bytes, at < 0 ? ~at : at, at < 0, event.#id)
      event.#payload = payload
    }
    return payload
  }
}

function readPayload(this: PayloadSource): unknown {
  return PayloadSource.payloadOf(this)
}

const defineGetter = (
  Object.prototype as unknown as {
    __defineGetter__(this: object, key: string, getter: () => unknown): void
  }
).__defineGetter__

/** The fields of an event but its payload, set by {@link PlainEvent}. */
interface EventFields {
  id: EventId
  type: string
  timestamp: number
  metadata: EnvelopeHeader['metadata']
  stream: EnvelopeHeader['stream']
}

// A constructor function whose prototype is Object.prototype makes objects no caller can tell from
// a literal, but V8 sizes them for everything added to them, the stamped fields included: 96 bytes
// per event, where a literal had room for its own five keys only and put the stamped fields in a
// property array grown twice per event (128 bytes in all).
const PlainEvent = function PlainEvent(this: EventFields, id: EventId, header: EnvelopeHeader): void {
  this.id = id
  this.type = header.type
  this.timestamp = header.timestamp
  this.metadata = header.metadata
  this.stream = header.stream
} as unknown as new (
  id: EventId,
  header: EnvelopeHeader,
) => EventFields
PlainEvent.prototype = Object.prototype

/**
 * Event `id` from its envelope `bytes` and their header (see `decodeEventHeader`). The
 * payload is decoded when `payload` is first read, then cached; a damaged payload raises
 * `CORRUPTION` naming the event at that read (and at every later one). `bytes` must not change
 * afterwards: event logs hand out bytes they never reuse.
 */
export function eventFromHeader<P = unknown>(
  id: EventId,
  bytes: Uint8Array,
  header: EnvelopeHeader,
): AzothEvent<P> {
  const event = new PlainEvent(id, header)
  new PayloadSource(event, id, bytes, header)
  defineGetter.call(event, 'payload', readPayload)
  return event as AzothEvent<P>
}

/**
 * Decodes event `id` with its payload left for first access (see {@link eventFromHeader}).
 * A damaged header raises `CORRUPTION` naming the event now.
 */
export function decodeEventLazily<P = unknown>(id: EventId, bytes: Uint8Array): AzothEvent<P> {
  return eventFromHeader(id, bytes, decodeEventHeader(bytes, id))
}
