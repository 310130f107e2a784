import { CorruptionError, type EventId } from '@azothdb/core'
import { crc32c, eventIdBytes, readEventId, writeEventId } from '@azothdb/core/internal'
import { verifyChunkEvents } from './chunk-checksums.js'

/*
 * The built-in event log packs the events of one group commit into a few LMDB entries ("chunks")
 * keyed by the u64 big-endian id of their first event: iteration reads one entry per chunk instead
 * of one per event, and `get(id)` floor-seeks to the chunk that holds `id`.
 *
 * Chunk value: [u32 count][u32 end offset of each event, relative to the data start]
 *              [u32 CRC-32C of each event: its u64 big-endian id, then its bytes][event bytes...]
 *
 * A checksum per event rather than per chunk: a damaged event is named by its id, and a read of one
 * event checks only that event's bytes. The id is in the checksum, so an event read under another
 * id (a flipped chunk key or offset) is caught as well.
 */

const HEADER = 4
/** Bytes per event in the header: its end offset and its checksum. */
const PER_EVENT = 8

const idScratch = new Uint8Array(8)

/** The checksum of event `id` with envelope `data[start, end)`. */
function eventChecksum(id: EventId, data: Uint8Array, start: number, end: number): number {
  writeEventId(idScratch, 0, id)
  return crc32c(data, start, end, crc32c(idScratch))
}

/** Splits `events` (ids `firstId`...) into chunks of at most `maxBytes` each (one event may exceed it). */
export function* buildChunks(
  firstId: EventId,
  events: readonly Uint8Array[],
  maxBytes: number,
): Generator<[Uint8Array, Uint8Array]> {
  let start = 0
  while (start < events.length) {
    let end = start
    let bytes = 0
    while (end < events.length && (end === start || bytes + events[end]!.length <= maxBytes)) {
      bytes += events[end]!.length
      end++
    }
    const count = end - start
    const out = new Uint8Array(HEADER + PER_EVENT * count + bytes)
    const view = new DataView(out.buffer)
    view.setUint32(0, count)
    const sums = HEADER + 4 * count
    let dataAt = HEADER + PER_EVENT * count
    let rel = 0
    for (let i = 0; i < count; i++) {
      const e = events[start + i]!
      out.set(e, dataAt)
      dataAt += e.length
      rel += e.length
      view.setUint32(HEADER + 4 * i, rel)
      view.setUint32(sums + 4 * i, eventChecksum(firstId + start + i, e, 0, e.length))
    }
    yield [eventIdBytes(firstId + start), out]
    start = end
  }
}

/** A parsed chunk: its first id and a view onto its offsets. */
export class Chunk {
  readonly count: number
  private readonly view: DataView
  private readonly dataStart: number
  // The value's ArrayBuffer and where its events start in it, read once: the getters call into C++.
  private readonly arrayBuffer: ArrayBufferLike
  private readonly base: number

  constructor(
    readonly firstId: EventId,
    private readonly value: Uint8Array,
  ) {
    if (value.length < HEADER) throw chunkCorrupt(firstId, 'shorter than its header')
    this.arrayBuffer = value.buffer
    this.view = new DataView(this.arrayBuffer, value.byteOffset, value.byteLength)
    this.count = this.view.getUint32(0)
    this.dataStart = HEADER + PER_EVENT * this.count
    this.base = value.byteOffset + this.dataStart
    if (this.count === 0 || this.dataStart > value.length)
      throw chunkCorrupt(firstId, `bad count ${this.count}`)
    if (this.dataStart + this.view.getUint32(HEADER + 4 * (this.count - 1)) !== value.length) {
      throw chunkCorrupt(firstId, 'offsets do not match its length')
    }
  }

  get lastId(): EventId {
    return this.firstId + this.count - 1
  }

  /**
   * The envelope of the `index`-th event (a view, not a copy), its checksum checked: a mismatch
   * is `CORRUPTION` naming the event.
   */
  event(index: number): Uint8Array {
    const start = index === 0 ? 0 : this.view.getUint32(HEADER + 4 * (index - 1))
    const end = this.view.getUint32(HEADER + 4 * index)
    if (end < start || this.dataStart + end > this.value.length)
      throw chunkCorrupt(this.firstId, `bad offset ${index}`)
    const id = this.firstId + index
    const expected = this.view.getUint32(HEADER + 4 * (this.count + index))
    const actual = eventChecksum(id, this.value, this.dataStart + start, this.dataStart + end)
    if (actual !== expected) {
      throw new CorruptionError(`event ${id} is corrupt: checksum mismatch`, {
        details: { where: 'event', eventId: id, reason: 'checksum mismatch', expected, actual },
      })
    }
    return this.viewOf(start, end)
  }

  /**
   * The index of the first event in `[from, to)` not proven intact (`to` when all are): those
   * before it passed their checksums in one bulk call, and {@link verifiedEvent} hands them out.
   * Fewer than four events are left to {@link event}: the call and the copy of the chunk's header
   * into the checksummer cost more than checking them in JavaScript.
   */
  verify(from: number, to: number): number {
    if (to - from < 4) return from
    return verifyChunkEvents(this.value, this.firstId, from, to)
  }

  /** The envelope of the `index`-th event, which {@link verify} proved intact (a view, not a copy). */
  verifiedEvent(index: number): Uint8Array {
    const start = index === 0 ? 0 : this.view.getUint32(HEADER + 4 * (index - 1))
    return this.viewOf(start, this.view.getUint32(HEADER + 4 * index))
  }

  // A plain Uint8Array view (the value may be a Buffer): no copy.
  private viewOf(start: number, end: number): Uint8Array {
    return new Uint8Array(this.arrayBuffer, this.base + start, end - start)
  }
}

export function chunkCorrupt(firstId: EventId, reason: string): CorruptionError {
  return new CorruptionError(`event chunk starting at id ${firstId} is corrupt: ${reason}`, {
    details: { where: 'event', eventId: firstId, chunk: firstId, reason },
  })
}

export function chunkKeyToId(key: Uint8Array): EventId {
  if (key.length !== 8)
    throw new CorruptionError('event chunk key is not 8 bytes', { details: { where: 'events' } })
  const id = readEventId(key, 0)
  if (id < 1) throw new CorruptionError('event chunk key is not a valid id', { details: { where: 'events' } })
  return id
}
