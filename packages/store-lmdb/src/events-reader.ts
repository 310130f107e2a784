import type { EventId, EventLog, EventRange, EventRecord, Logger } from '@azothdb/core'
import { eventIdBytes, toError } from '@azothdb/core/internal'
import { ChunkReadAheadWorker, type ReadAheadTarget, spareCore } from './chunk-read-ahead.js'
import { type ChunkReadAhead, ChunkRecords } from './chunk-records.js'
import { Chunk, chunkKeyToId } from './event-chunks.js'
import type { StoreDatabases } from './store-databases.js'

export type { ReadAheadTarget } from './chunk-read-ahead.js'

const EMPTY: readonly EventRecord[] = []

/**
 * Scans of more events than this read ahead on the worker thread, when a core is free for it: a
 * shorter one ends before the worker pays off (as in the file log). Short reads, `get`, `getMany`
 * and stream reads check inline.
 */
const READ_AHEAD_MIN_EVENTS = 8_192

/** Reads events from the built-in chunked LMDB log, or from the external event log. */
export class EventsReader {
  readonly #oneId: EventId[] = [0]
  readonly #oneOut: (Uint8Array | undefined)[] = [undefined]
  #worker: ChunkReadAheadWorker | undefined
  #readAheadTarget: ReadAheadTarget | undefined
  readonly #readAhead: ChunkReadAhead = {
    submit: (first, last) => this.#worker?.submit(first, last),
    rangeFrom: (id) => this.dbs.events.getRange({ start: Buffer.from(eventIdBytes(id)) })[Symbol.iterator](),
  }

  constructor(
    private readonly dbs: StoreDatabases,
    private readonly external: EventLog | undefined,
    readAhead: ReadAheadTarget | undefined,
    private readonly logger: Logger,
  ) {
    this.#readAheadTarget = external === undefined ? readAhead : undefined
  }

  read(range: EventRange, head: EventId): IterableIterator<EventRecord> {
    const from = Math.max(1, range.from ?? 1)
    const to = Math.min(head, range.to ?? head)
    const limit = range.limit ?? Number.POSITIVE_INFINITY
    if (this.external) {
      this.followExternal(to)
      return this.external.read({ from, to, limit })
    }
    return this.readChunks(from, to, limit)
  }

  private readChunks(from: EventId, to: EventId, limit: number): IterableIterator<EventRecord> {
    if (from > to || limit <= 0) return EMPTY[Symbol.iterator]()
    const long = Math.min(to - from + 1, limit) > READ_AHEAD_MIN_EVENTS
    return new ChunkRecords(
      () => {
        const floor = this.floorKey(from)
        return floor === undefined ? undefined : this.dbs.events.getRange({ start: floor })[Symbol.iterator]()
      },
      from,
      to,
      limit,
      long && spareCore() && this.readAheadWorker() !== undefined ? this.#readAhead : undefined,
    )
  }

  /** The worker of long scans, started at the first; undefined when off, or once it failed. */
  private readAheadWorker(): ChunkReadAheadWorker | undefined {
    if (this.#worker !== undefined) return this.#worker.usable ? this.#worker : undefined
    const target = this.#readAheadTarget
    if (target === undefined) return undefined
    try {
      this.#worker = new ChunkReadAheadWorker(target, this.logger)
    } catch (e) {
      this.#readAheadTarget = undefined
      this.logger.warn({ err: toError(e) }, 'could not start the event read-ahead worker; scans check inline')
    }
    return this.#worker
  }

  /**
   * Stops the read-ahead worker, which shares the store's LMDB environment: it must let go of it
   * before the store closes its own handle. Later scans check inline.
   */
  async close(): Promise<void> {
    this.#readAheadTarget = undefined
    await this.#worker?.terminate()
  }

  /** Key of the chunk holding `id`: the greatest chunk key <= id. */
  private floorKey(id: EventId): Buffer | undefined {
    for (const key of this.dbs.events.getKeys({
      start: Buffer.from(eventIdBytes(id)),
      reverse: true,
      limit: 1,
    })) {
      return Buffer.from(key)
    }
    return undefined
  }

  /** A read-only store sees the writer's head in LMDB; its view of the external log catches up here. */
  private followExternal(head: EventId): void {
    if (this.external !== undefined && this.external.head() < head) this.external.refresh?.()
  }

  get(id: EventId): Uint8Array | undefined {
    // getMany is synchronous: one pair of one-element arrays serves every call.
    this.#oneId[0] = id
    this.getMany(this.#oneId, 1, this.#oneOut)
    const bytes = this.#oneOut[0]
    this.#oneOut[0] = undefined
    return bytes
  }

  /**
   * The envelopes (copies) of `ids[0..count)` into `out`, undefined where an event is missing.
   * Consecutive ids in one LMDB entry, as a stream's events written together are, cost one entry
   * read between them: an entry is up to 16 KiB that lmdb-js copies on every read, so reading it
   * once per event used to dominate a stream read.
   */
  getMany(ids: readonly EventId[], count: number, out: (Uint8Array | undefined)[]): void {
    if (this.external) {
      for (let i = 0; i < count; i++) {
        this.followExternal(ids[i]!)
        out[i] = this.external.get(ids[i]!)
      }
      return
    }
    let chunk: Chunk | undefined
    // Events of the current chunk proven intact by one bulk check: indexes [verifiedFrom, verifiedTo).
    let verifiedFrom = 0
    let verifiedTo = 0
    // The bytes of the current run of consecutive ids, copied out of the entry at once: its
    // events are views into that copy (one allocation per run, not one per event).
    let runCopy: ArrayBuffer | undefined
    let runStart = 0
    let runEnd = 0
    for (let i = 0; i < count; i++) {
      const id = ids[i]!
      if (chunk === undefined || id < chunk.firstId || id > chunk.lastId) {
        // The event after a chunk's last starts the next chunk, whose key is its id: no search.
        chunk = (chunk !== undefined && id === chunk.lastId + 1 && this.chunkAt(id)) || this.chunkHolding(id)
        verifiedTo = 0
        runEnd = 0
        if (chunk === undefined || id > chunk.lastId) {
          chunk = undefined
          out[i] = undefined
          continue
        }
      }
      const index = id - chunk.firstId
      if (index < verifiedFrom || index >= runEnd) {
        // A run of consecutive ids in this chunk (a stream's append) is checked in one call.
        let n = 1
        while (i + n < count && ids[i + n] === id + n && index + n < chunk.count) n++
        verifiedFrom = index
        verifiedTo = n > 1 ? chunk.verify(index, index + n) : index
        runEnd = index + n
        runCopy = undefined
        if (n > 1 && verifiedTo === runEnd) {
          // The entry is a view that the next LMDB read may overwrite: copy the run out now.
          const first = chunk.verifiedEvent(index)
          const last = chunk.verifiedEvent(runEnd - 1)
          runStart = first.byteOffset
          runCopy = first.buffer.slice(runStart, last.byteOffset + last.length) as ArrayBuffer
        }
      }
      if (runCopy !== undefined) {
        const view = chunk.verifiedEvent(index)
        out[i] = new Uint8Array(runCopy, view.byteOffset - runStart, view.length)
      } else {
        // The entry is a view that the next LMDB read may overwrite: copy the envelope out now.
        out[i] = (index < verifiedTo ? chunk.verifiedEvent(index) : chunk.event(index)).slice()
      }
    }
  }

  /** The entry whose first id is `id`, if there is one, read in place (valid until the next read). */
  private chunkAt(id: EventId): Chunk | undefined {
    const key = Buffer.from(eventIdBytes(id))
    const value = this.dbs.events.getBinaryFast(key)
    return value === undefined ? undefined : new Chunk(id, value)
  }

  /** The entry whose first id is the greatest <= `id`, read in place (valid until the next read). */
  private chunkHolding(id: EventId): Chunk | undefined {
    const key = this.floorKey(id)
    if (key === undefined) return undefined
    const value = this.dbs.events.getBinaryFast(key)
    return value === undefined ? undefined : new Chunk(chunkKeyToId(key), value)
  }
}
