import { CorruptionError, type EventId, eventIdBytes, readEventId } from '@azoth/core'
import type { Database } from 'lmdb'

/** The on-disk format of the LMDB store; a store written by a newer version is refused. */
export const STORE_FORMAT_VERSION = 1

const enc = new TextEncoder()
export const META_FORMAT = Buffer.from(enc.encode('format'))
export const META_HEAD = Buffer.from(enc.encode('head'))
export const META_EVENTS = Buffer.from(enc.encode('events'))

/** Where a store keeps its events: in its own LMDB database or in an external event log. */
export type EventsLocation = 'lmdb' | 'external'

export function readHead(meta: Database<Uint8Array, Uint8Array>): EventId {
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
