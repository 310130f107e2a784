import type { AnyEvents, StreamEventInput, StreamEventOf, StreamInfo } from '@azothdb/core'
import type { LmdbStore } from '@azothdb/store-lmdb'
import { appendAlone } from './stream-append.js'
import {
  type AggregateStreamOptions,
  type AggregateStreamResult,
  type AppendToStreamOptions,
  type AppendToStreamResult,
  aggregateStream,
  type ReadStreamOptions,
  type ReadStreamResult,
  readStream,
  type StreamsQuery,
  streamsOf,
} from './streams.js'
import type { WritePath } from './write-path.js'

// biome-ignore lint/suspicious/noExplicitAny: set once, for databases of every event map.
let bind: (db: DatabaseStreams<any>, store: LmdbStore, write: WritePath) => void

/**
 * The stream methods of a database: `Azoth` inherits them (see "Streams" in the README). Made
 * only by `Azoth.open`; a class of its own so the stream API is one concept in one file. `E` is
 * the database's event map (`defineEvents`): appends, reads and folds are checked against it.
 */
export class DatabaseStreams<E = AnyEvents> {
  // Set by bindStreams in Azoth's constructor, before anyone holds the database.
  #store!: LmdbStore
  #write!: WritePath

  static {
    bind = (db, store, write) => {
      db.#store = store
      db.#write = write
    }
  }

  /** The store, after the database's `CLOSED` guard. */
  #open(): LmdbStore {
    this.#write.checkOpen()
    return this.#store
  }

  /**
   * Appends events to a stream in a commit of their own (no preflight, no lock), after checking
   * `expectedStreamVersion` in the writer (`ExpectedVersionConflictError`, code `CONFLICT`, on a
   * mismatch; nothing written). To append together with state writes, use
   * `db.transaction().streams([...])` and `tx.appendToStream`.
   *
   * @example
   * const { nextExpectedStreamVersion } = await db.appendToStream(
   *   'cart-42',
   *   [{ type: 'ItemAdded', data: { sku: 'sku-1', qty: 1 } }],
   *   { expectedStreamVersion: 'no_stream' },
   * )
   */
  appendToStream(
    stream: string,
    events: readonly StreamEventOf<E>[],
    options?: AppendToStreamOptions,
  ): Promise<AppendToStreamResult> {
    // Not async: appendAlone rejects rather than throws, and another promise layer would cost
    // every append a promise and microtask turns.
    return appendAlone(this.#write, stream, events as readonly StreamEventInput[], options)
  }

  /** A stream's committed events (all, or a range of versions) and its current version. */
  async readStream(stream: string, options?: ReadStreamOptions): Promise<ReadStreamResult<E>> {
    return readStream(this.#open(), stream, options) as ReadStreamResult<E>
  }

  /** Folds a stream's committed events, in version order, into a state. */
  async aggregateStream<S>(
    stream: string,
    options: AggregateStreamOptions<S, E>,
  ): Promise<AggregateStreamResult<S>> {
    return aggregateStream(this.#open(), stream, options as unknown as AggregateStreamOptions<S>)
  }

  /** True when the stream has a committed event. */
  async streamExists(stream: string): Promise<boolean> {
    return this.#open().streamVersion(stream) !== undefined
  }

  /**
   * Streams with committed events, in name order (UTF-8 bytes), lazily; `prefix` selects a
   * category (`{ prefix: 'cart-' }`).
   */
  streams(query?: StreamsQuery): IterableIterator<StreamInfo> {
    return streamsOf(this.#open(), query)
  }
}

/** @internal Connects a database's stream methods to its store and write path (called by its constructor). */
export function bindStreams<E>(db: DatabaseStreams<E>, store: LmdbStore, write: WritePath): void {
  bind(db, store, write)
}
