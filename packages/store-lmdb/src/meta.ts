import { CorruptionError, type EventId } from '@azothdb/core'
import { eventIdBytes, readEventId } from '@azothdb/core/internal'
import type { Database } from 'lmdb'
import { Chunk, chunkKeyToId } from './event-chunks.js'

/**
 * The on-disk format of the LMDB store; a store of any other format is refused. 2: state values and
 * events carry a CRC-32C (value-checksum.ts, event-chunks.ts).
 */
export const STORE_FORMAT_VERSION = 2

const enc = new TextEncoder()
export const META_FORMAT = Buffer.from(enc.encode('format'))
export const META_HEAD = Buffer.from(enc.encode('head'))
export const META_EVENTS = Buffer.from(enc.encode('events'))

/** Where a store keeps its events: in its own LMDB database or in an external event log. */
export type EventsLocation = 'lmdb' | 'external'

/**
 * The committed head. With events in LMDB it is the last id of the last event chunk, so a commit
 * need not also rewrite a meta record (one page less per commit); an external log's head is
 * recorded in meta by each commit that appends to it.
 */
export function readHead(
  meta: Database<Uint8Array, Uint8Array>,
  events: Database<Uint8Array, Uint8Array>,
): EventId {
  if ((readEventsLocation(meta) ?? 'lmdb') === 'external') return readMetaHead(meta)
  for (const { key, value } of events.getRange({ reverse: true, limit: 1 })) {
    return new Chunk(chunkKeyToId(key), value).lastId
  }
  return 0
}

function readMetaHead(meta: Database<Uint8Array, Uint8Array>): EventId {
  const raw = meta.getBinary(META_HEAD)
  if (raw === undefined) return 0
  const id = raw.length === 8 ? readEventId(raw, 0) : -1
  if (id < 0)
    throw new CorruptionError('meta head is not a valid event id', { details: { where: 'meta/head' } })
  return id
}

export function headBytes(head: EventId): Buffer {
  return Buffer.from(eventIdBytes(head))
}

export function readFormat(meta: Database<Uint8Array, Uint8Array>): number | undefined {
  const raw = meta.getBinary(META_FORMAT)
  if (raw === undefined) return undefined
  if (raw.length !== 4)
    throw new CorruptionError('meta format is not 4 bytes', { details: { where: 'meta/format' } })
  return raw.readUInt32BE(0)
}

export function formatBytes(version: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(version, 0)
  return b
}

export function readEventsLocation(meta: Database<Uint8Array, Uint8Array>): EventsLocation | undefined {
  const raw = meta.getBinary(META_EVENTS)
  if (raw === undefined) return undefined
  const s = raw.toString('utf8')
  if (s !== 'lmdb' && s !== 'external') {
    throw new CorruptionError(`meta events location '${s}' is unknown`, { details: { where: 'meta/events' } })
  }
  return s
}
