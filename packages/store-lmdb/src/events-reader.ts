import type { EventId, EventLog, EventRange, EventRecord } from '@azothdb/core'
import { eventIdBytes } from '@azothdb/core/internal'
import { Chunk, ChunkRecords, chunkKeyToId } from './event-chunks.js'
import type { StoreDatabases } from './store-databases.js'

const EMPTY: readonly EventRecord[] = []

/** Reads events from the built-in chunked LMDB log, or from the external event log. */
export class EventsReader {
  constructor(
    private readonly dbs: StoreDatabases,
    private readonly external: EventLog | undefined,
  ) {}

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
    return new ChunkRecords(
      () => {
        const floor = this.floorKey(from)
        return floor === undefined ? undefined : this.dbs.events.getRange({ start: floor })[Symbol.iterator]()
      },
      from,
      to,
      limit,
    )
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
    if (this.external) {
      this.followExternal(id)
      return this.external.get(id)
    }
    const key = this.floorKey(id)
    if (key === undefined) return undefined
    // The chunk without copying it (a view of LMDB's map, or of a buffer the next read reuses):
    // only the one envelope is copied out. Reading a ~100-byte event used to copy its whole chunk.
    const value = this.dbs.events.getBinaryFast(key)
    if (value === undefined) return undefined
    const chunk = new Chunk(chunkKeyToId(key), value)
    if (id > chunk.lastId) return undefined
    return chunk.event(id - chunk.firstId).slice()
  }
}
