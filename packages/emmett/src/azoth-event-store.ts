import {
  type AggregateStreamOptions,
  type AggregateStreamResultWithGlobalPosition,
  type AppendToStreamOptions,
  type AppendToStreamResultWithGlobalPosition,
  type DefaultEventStoreOptions,
  downcastRecordedMessages,
  type Event,
  type EventStore,
  type Message,
  type ReadEvent,
  type ReadStreamOptions,
  type ReadStreamResult,
  tryPublishMessagesAfterCommit,
  upcastRecordedMessage,
} from '@event-driven-io/emmett'
import { type Azoth, AzothError, type AzothEvent } from 'azothdb'
import { AzothConsumer, type AzothEventStoreConsumer } from './consumer.js'
import type { AzothEventStoreConsumerOptions } from './consumer-options.js'
import { checkExpected, toAzothExpected, toEmmettConflict, toEmmettPosition } from './expected-version.js'
import { type AzothReadEventMetadata, toReadEvent, toRecordedEvent } from './read-event.js'
import { toAzothRange } from './read-range.js'

/**
 * Emmett's `EventStore` over an Azoth database: what `getAzothEventStore` returns. Appends report
 * the global position of their last event, as Emmett's SQL stores do.
 */
export interface AzothEventStore extends EventStore<AzothReadEventMetadata> {
  /**
   * Appends events to a stream in one Azoth commit, after checking `expectedStreamVersion` (an
   * Emmett position, `STREAM_EXISTS`, `STREAM_DOES_NOT_EXIST` or `NO_CONCURRENCY_CHECK`, the
   * default); a mismatch rejects with Emmett's `ExpectedVersionConflictError` and writes nothing.
   */
  appendToStream<EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    events: EventType[],
    options?: AppendToStreamOptions<bigint, EventType, EventPayloadType>,
  ): Promise<AppendToStreamResultWithGlobalPosition>
  /** Folds a stream's events (all, or `read`'s range) into a state, in stream order. */
  aggregateStream<State, EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    options: AggregateStreamOptions<State, EventType, AzothReadEventMetadata, EventPayloadType>,
  ): Promise<AggregateStreamResultWithGlobalPosition<State>>
  /**
   * Emmett's `MessageConsumer` over this database: its processors get the database's stream
   * events in global order, in batches, each from its own start position, fed by
   * `db.subscribe()` (woken by commits, never polling). Processors made by the consumer's
   * `reactor()`/`projector()` keep their checkpoints in the database's key-value state.
   */
  consumer<ConsumerMessageType extends Message = Message>(
    options?: AzothEventStoreConsumerOptions<ConsumerMessageType>,
  ): AzothEventStoreConsumer<ConsumerMessageType>
}

/**
 * Options of `getAzothEventStore`: Emmett's own store options. `hooks.onAfterCommit` is called once
 * after each successful append with its events as a later read shows them; as in Emmett's stores,
 * a hook that throws is logged (`console.error`, by Emmett) and the append still succeeds, and a
 * crash between the commit and the hook loses that call (use a projector or a subscription
 * where delivery matters).
 */
export type AzothEventStoreOptions = DefaultEventStoreOptions<AzothEventStore>

function checkOptionsObject(options: unknown, method: string): void {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new AzothError('INVALID_ARGUMENT', `${method} options must be an object`, {})
  }
}

class AzothEmmettStore implements AzothEventStore {
  readonly #db: Azoth
  readonly #options: AzothEventStoreOptions | undefined

  // biome-ignore lint/suspicious/noExplicitAny: see getAzothEventStore
  constructor(db: Azoth<any, any>, options: AzothEventStoreOptions | undefined) {
    this.#db = db as Azoth
    this.#options = options
  }

  async appendToStream<EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    events: EventType[],
    options?: AppendToStreamOptions<bigint, EventType, EventPayloadType>,
  ): Promise<AppendToStreamResultWithGlobalPosition> {
    checkOptionsObject(options, 'appendToStream')
    const expected = options?.expectedStreamVersion
    const expectedStreamVersion = toAzothExpected(expected)
    const downcast = options?.schema?.versioning
    // Emmett's events already have Azoth's input shape ({ type, data, metadata }); `kind` is ignored.
    const stored: readonly Event[] =
      downcast?.downcast === undefined || !Array.isArray(events)
        ? events
        : downcastRecordedMessages<EventType, EventPayloadType>(events, downcast)
    let result: Awaited<ReturnType<Azoth['appendToStream']>>
    try {
      result = await this.#db.appendToStream(streamName, stored, { expectedStreamVersion })
    } catch (e) {
      throw toEmmettConflict(e, expected)
    }
    const hooks = this.#options?.hooks
    if (hooks?.onAfterCommit !== undefined) {
      const first = result.nextExpectedStreamVersion - BigInt(events.length) + 1n
      const recorded = events.map((e, i) =>
        toRecordedEvent(e, streamName, first + BigInt(i), result.firstEventId + i),
      )
      await tryPublishMessagesAfterCommit<AzothEventStore>(recorded, hooks)
    }
    return {
      nextExpectedStreamVersion: result.nextExpectedStreamVersion + 1n,
      createdNewStream: result.createdNewStream,
      lastEventGlobalPosition: BigInt(result.lastEventId),
    }
  }

  async readStream<EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    options?: ReadStreamOptions<bigint, EventType, EventPayloadType>,
  ): Promise<ReadStreamResult<EventType, AzothReadEventMetadata>> {
    const range = toAzothRange(options)
    const read = await this.#db.readStream(streamName, range)
    checkExpected(streamName, options?.expectedStreamVersion, read.currentStreamVersion)
    const upcast = options?.schema?.versioning
    const events = new Array<ReadEvent<EventType, AzothReadEventMetadata>>(read.events.length)
    for (let i = 0; i < events.length; i++) {
      const event = toReadEvent<EventPayloadType>(read.events[i]!)
      events[i] =
        upcast?.upcast === undefined
          ? (event as unknown as ReadEvent<EventType, AzothReadEventMetadata>)
          : upcastRecordedMessage<EventType, EventPayloadType, AzothReadEventMetadata>(event, upcast)
    }
    return {
      currentStreamVersion: toEmmettPosition(read.currentStreamVersion),
      events,
      streamExists: read.streamExists,
    }
  }

  async aggregateStream<State, EventType extends Event, EventPayloadType extends Event = EventType>(
    streamName: string,
    options: AggregateStreamOptions<State, EventType, AzothReadEventMetadata, EventPayloadType>,
  ): Promise<AggregateStreamResultWithGlobalPosition<State>> {
    if (
      options === null ||
      typeof options !== 'object' ||
      typeof options.evolve !== 'function' ||
      typeof options.initialState !== 'function'
    ) {
      throw new AzothError('INVALID_ARGUMENT', 'aggregateStream needs evolve and initialState functions', {
        details: { stream: String(streamName) },
      })
    }
    const { read } = options
    checkOptionsObject(read, 'aggregateStream read')
    // Emmett's evolve takes either an event or a read event: a read event serves both.
    const evolve = options.evolve as (
      state: State,
      event: ReadEvent<EventType, AzothReadEventMetadata>,
    ) => State
    const upcast = read?.schema?.versioning
    const range = toAzothRange(read)
    let last: AzothEvent | undefined
    const step = (state: State, e: AzothEvent): State => {
      last = e
      const event = toReadEvent<EventPayloadType>(e)
      return evolve(
        state,
        upcast?.upcast === undefined
          ? (event as unknown as ReadEvent<EventType, AzothReadEventMetadata>)
          : upcastRecordedMessage<EventType, EventPayloadType, AzothReadEventMetadata>(event, upcast),
      )
    }
    let state: State
    if (range === undefined) {
      // The whole stream in one pass, with no array of its events.
      const folded = await this.#db.aggregateStream(streamName, {
        evolve: step,
        initialState: options.initialState,
      })
      checkExpected(streamName, read?.expectedStreamVersion, folded.streamVersion)
      state = folded.state
    } else {
      const found = await this.#db.readStream(streamName, range)
      checkExpected(streamName, read?.expectedStreamVersion, found.currentStreamVersion)
      state = options.initialState()
      for (const e of found.events) state = step(state, e)
    }
    // The position of the last event folded, not the stream's: an append based on a state that
    // misses later events must conflict.
    const currentStreamVersion = toEmmettPosition(last?.stream?.version)
    return last === undefined
      ? { currentStreamVersion, state, streamExists: false }
      : { currentStreamVersion, state, streamExists: true, lastEventGlobalPosition: BigInt(last.id) }
  }

  async streamExists(streamName: string): Promise<boolean> {
    return this.#db.streamExists(streamName)
  }

  consumer<ConsumerMessageType extends Message = Message>(
    options?: AzothEventStoreConsumerOptions<ConsumerMessageType>,
  ): AzothEventStoreConsumer<ConsumerMessageType> {
    return new AzothConsumer(
      this.#db,
      this,
      options,
    ) as unknown as AzothEventStoreConsumer<ConsumerMessageType>
  }
}

/**
 * Emmett's `EventStore` over an open Azoth database, for Emmett's `CommandHandler`,
 * `DeciderCommandHandler` and anything else written against that interface. Stream positions are
 * Emmett's (the first event at 1n); the database's own stream API keeps Azoth's (from 0n).
 *
 * @example
 * const db = await Azoth.open('./data')
 * const eventStore = getAzothEventStore(db)
 * await eventStore.appendToStream('cart-42', [{ type: 'ItemAdded', data: { sku: 'sku-1' } }])
 */
export function getAzothEventStore(
  // Only the stream methods are used: any projection backend, any event map.
  // biome-ignore lint/suspicious/noExplicitAny: the adapter is the same for every Azoth<Tx, E>
  db: Azoth<any, any>,
  options?: AzothEventStoreOptions,
): AzothEventStore {
  if (db === null || typeof db !== 'object' || typeof db.appendToStream !== 'function') {
    throw new AzothError('INVALID_ARGUMENT', 'getAzothEventStore needs an open Azoth database', {})
  }
  checkOptionsObject(options, 'getAzothEventStore')
  const hooks: unknown = options?.hooks
  checkOptionsObject(hooks, 'getAzothEventStore hooks')
  const hook: unknown = options?.hooks?.onAfterCommit
  if (hook !== undefined && typeof hook !== 'function') {
    throw new AzothError('INVALID_ARGUMENT', 'hooks.onAfterCommit must be a function', {})
  }
  return new AzothEmmettStore(db, options)
}
