import type { AzothEvent, EventMetadata } from './envelope.js'
import type { StreamEventInput } from './streams.js'

/**
 * The events of a database left untyped: any type name, any payload. A database opened without
 * `events: defineEvents<...>()` uses it, so every event is an `AzothEvent<unknown, string>`.
 */
export type AnyEvents = Record<string, unknown>

/** The event type names of an event map `E` (`{ ItemAdded: { sku: string } }` → `'ItemAdded'`). */
export type EventTypeOf<E> = keyof E & string

/**
 * The events a reader or handler of a database with event map `E` sees: a union with one
 * `AzothEvent` per type, so `switch (event.type)` narrows `event.payload`.
 *
 * @example
 * type CartEvents = { ItemAdded: { sku: string }; CartClosed: null }
 * const evolve = (items: string[], e: EventOf<CartEvents>) =>
 *   e.type === 'ItemAdded' ? [...items, e.payload.sku] : items
 */
export type EventOf<E> = { [K in EventTypeOf<E>]: AzothEvent<E[K], K> }[EventTypeOf<E>]

/**
 * An event to append to a stream of a database with event map `E`: its `data` is required unless
 * the type's payload may be `null` or `undefined`.
 */
export type StreamEventOf<E> = {
  [K in EventTypeOf<E>]: null extends E[K]
    ? StreamEventInput<E[K], K>
    : undefined extends E[K]
      ? StreamEventInput<E[K], K>
      : StreamEventInput<E[K], K> & RequiredData<E[K]>
}[EventTypeOf<E>]

/** The part of {@link StreamEventOf} that makes `data` required for a payload that cannot be null. */
export interface RequiredData<D> {
  /** The payload, which this event type requires. */
  readonly data: D
}

/**
 * The arguments after the type in `tx.log(type, ...)` and `batch.appendEvent(type, ...)`: the
 * payload (optional when the type's payload may be `null` or `undefined`), then metadata.
 */
export type EventPayloadArgs<P> = null extends P
  ? [payload?: P, metadata?: EventMetadata]
  : undefined extends P
    ? [payload?: P, metadata?: EventMetadata]
    : [payload: P, metadata?: EventMetadata]

const EVENTS = Symbol.for('azothdb.events')

/** The token {@link defineEvents} returns: carries the event map as a type only. */
export interface EventDefinitions<E> {
  /** Marks a value made by `defineEvents`; holds nothing. */
  readonly [EVENTS]: true
  /** Never set: only its type carries the event map. */
  readonly events?: E
}

/**
 * Types a database's events: `Azoth.open(dir, { events: defineEvents<CartEvents>() })` makes
 * `tx.log`, `appendToStream`, `readStream`, `aggregateStream`, `events()`, subscriptions and
 * projector handlers check event types and payloads against `CartEvents` (type name → payload). It
 * is a type only: nothing is checked at run time, and a database opened without it is untyped.
 *
 * @example
 * type CartEvents = { ItemAdded: { sku: string; qty: number }; CartClosed: null }
 * const db = await Azoth.open('./data', { events: defineEvents<CartEvents>() })
 */
export function defineEvents<E extends object>(): EventDefinitions<E> {
  return Object.freeze({ [EVENTS]: true as const })
}

/** True for a value made by {@link defineEvents}. */
export function isEventDefinitions(value: unknown): value is EventDefinitions<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EVENTS] === true
}
