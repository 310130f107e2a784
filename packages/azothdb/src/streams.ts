import {
  type AnyEvents,
  AzothError,
  type AzothEvent,
  type EventOf,
  type ExpectedStreamVersion,
  type StreamInfo,
} from '@azothdb/core'
import { describeValue, eventFromHeader } from '@azothdb/core/internal'
import type { LmdbStore } from '@azothdb/store-lmdb'

/** Options of `db.appendToStream` and `tx.appendToStream`. */
export interface AppendToStreamOptions {
  /**
   * What the stream must be for the append to go ahead (default `'any'`): the version of its last
   * event, `'no_stream'` or `'stream_exists'`. Otherwise the transaction fails with
   * `ExpectedVersionConflictError` (`CONFLICT`) and writes nothing.
   */
  readonly expectedStreamVersion?: ExpectedStreamVersion
  /**
   * The request's idempotency key (`db.appendToStream` only; a transaction takes one with
   * `transaction().idempotencyKey()`): a non-empty string of at most 255 UTF-8 bytes. A retry with
   * the same key within the database's idempotency window appends nothing and returns the first
   * append's result with `duplicate: true`; the same key for another stream is `INVALID_ARGUMENT`.
   */
  readonly idempotencyKey?: string
}

/** What `db.appendToStream` did. */
export interface AppendToStreamResult {
  /** The version of the stream's last event now: the expected version of the next append. */
  readonly nextExpectedStreamVersion: bigint
  /** The global id of the first event appended (an append's events have consecutive ids). */
  readonly firstEventId: number
  /** The global id of the last event appended. */
  readonly lastEventId: number
  /** True when this append wrote the stream's first event. */
  readonly createdNewStream: boolean
  /**
   * True when the idempotency key was already used within the window: nothing was appended and the
   * other fields are those of the first append.
   */
  readonly duplicate: boolean
}

/** Which events of a stream `readStream` returns: inclusive versions, a count and a direction. */
export interface ReadStreamOptions {
  /** The first version to read (default: the stream's first event, or its last when backward). */
  readonly from?: bigint
  /** The last version to read, inclusive (default: the stream's last event, or its first when backward). */
  readonly to?: bigint
  /** Read at most this many events. */
  readonly maxCount?: number
  /** `'forward'` (ascending versions, the default) or `'backward'`. */
  readonly direction?: 'forward' | 'backward'
}

/** What `readStream` found (`E`: the database's event map, see `defineEvents`). */
export interface ReadStreamResult<E = AnyEvents> {
  /** The events read, in the direction asked for; each carries `stream: { name, version }`. */
  readonly events: EventOf<E>[]
  /** The version of the stream's last event, or undefined when the stream has none. */
  readonly currentStreamVersion: bigint | undefined
  /** True when the stream has at least one event. */
  readonly streamExists: boolean
}

/** How `aggregateStream` folds a stream's events into a state (`E`: the database's event map). */
export interface AggregateStreamOptions<S, E = AnyEvents> {
  /** Folds one event into the state; called for each event in version order. */
  readonly evolve: (state: S, event: EventOf<E>) => S
  /** The state before the stream's first event (a function, so each call gets a fresh one). */
  readonly initialState: () => S
}

/** What `aggregateStream` computed. */
export interface AggregateStreamResult<S> {
  /** The state after the stream's last event (the initial state when the stream has none). */
  readonly state: S
  /**
   * The version of the last event folded, or undefined when the stream has none: pass
   * `streamVersion ?? 'no_stream'` as the expected version of an append based on this state.
   */
  readonly streamVersion: bigint | undefined
  /** True when the stream has at least one event. */
  readonly streamExists: boolean
}

/** @internal Reads a stream at one moment: its events and its current version agree. */
export function readStream(
  store: LmdbStore,
  stream: string,
  options: ReadStreamOptions | undefined,
): ReadStreamResult {
  const current = store.streamVersion(stream)
  const events: AzothEvent[] = []
  // The store checks each event is the one its index names; one synchronous pass, no commit between.
  store.visitStream(stream, options, (id, bytes, header) => {
    events.push(eventFromHeader(id, bytes, header))
  })
  return { events, currentStreamVersion: current, streamExists: current !== undefined }
}

/** @internal Folds a stream's events, in version order, into a state. */
export function aggregateStream<S>(
  store: LmdbStore,
  stream: string,
  options: AggregateStreamOptions<S>,
): AggregateStreamResult<S> {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.evolve !== 'function' ||
    typeof options.initialState !== 'function'
  ) {
    throw new AzothError('INVALID_ARGUMENT', 'aggregateStream needs evolve and initialState functions', {
      details: { stream: typeof stream === 'string' ? stream : describeValue(stream) },
    })
  }
  const { evolve } = options
  let state = options.initialState()
  let version: bigint | undefined
  // The events of one synchronous pass: no commit lands in between, so state and version agree.
  store.visitStream(stream, undefined, (id, bytes, header) => {
    state = evolve(state, eventFromHeader(id, bytes, header))
    version = header.stream!.version
  })
  return { state, streamVersion: version, streamExists: version !== undefined }
}

/** Which streams `db.streams` lists. */
export interface StreamsQuery {
  /** Only streams whose names start with this (e.g. a category and its dash: `'cart-'`). */
  readonly prefix?: string
}

/** @internal Streams with committed events whose names start with `query.prefix`. */
export function streamsOf(store: LmdbStore, query: StreamsQuery | undefined): IterableIterator<StreamInfo> {
  if (query !== undefined && (query === null || typeof query !== 'object')) {
    throw new AzothError('INVALID_ARGUMENT', 'streams() takes an options object', {})
  }
  return store.streams(query?.prefix ?? '')
}
