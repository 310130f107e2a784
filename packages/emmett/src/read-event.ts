import type { Event, ReadEvent, ReadEventMetadataWithGlobalPosition } from '@event-driven-io/emmett'
import type { AzothEvent } from 'azothdb'

/**
 * What an event read through the adapter carries in `metadata`, besides the metadata it was
 * appended with: Emmett's stream name, stream position (from 1), global position (Azoth's event
 * id) and message id.
 */
export type AzothReadEventMetadata = ReadEventMetadataWithGlobalPosition

/**
 * An Azoth stream event as Emmett reads it. Its `messageId` is the one its metadata was appended
 * with, else its global position in decimal: stable across reads, reopens and backups, unique in
 * the database, and nothing extra stored per event.
 */
export function toReadEvent<E extends Event>(event: AzothEvent): ReadEvent<E, AzothReadEventMetadata> {
  // Every event read through a stream's index carries its stream reference.
  const stream = event.stream!
  const stored = event.metadata
  // Most events carry no metadata of their own: then a literal, not a copy (see withStoredMetadata).
  const metadata =
    stored === undefined
      ? {
          messageId: String(event.id),
          streamName: stream.name,
          streamPosition: stream.version + 1n,
          globalPosition: BigInt(event.id),
        }
      : withStoredMetadata(stored, event.id, stream.name, stream.version + 1n)
  return { type: event.type, data: event.payload, metadata, kind: 'Event' } as unknown as ReadEvent<
    E,
    AzothReadEventMetadata
  >
}

/**
 * Emmett's read metadata over what an event was appended with: its keys in their order, then
 * Emmett's four (a `messageId` it was given wins).
 */
function withStoredMetadata(
  stored: Readonly<Record<string, unknown>>,
  id: number,
  streamName: string,
  streamPosition: bigint,
): AzothReadEventMetadata {
  // Not `{ ...stored, messageId, ... }`: V8 (Node 20) gives a spread's copy a hidden class that
  // takes no transitions, so each key written after the spread goes through the runtime, ~0.6 µs
  // a key (2.7 µs an event); copied key by key into a literal the whole object costs ~0.1 µs.
  const metadata: Record<string, unknown> = {}
  const keys = Object.keys(stored)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    // An own `__proto__` key (metadata round-trips them) stays a key; assigned, it would set the prototype.
    if (key === '__proto__') Object.defineProperty(metadata, key, ownValue(stored[key]))
    else metadata[key] = stored[key]
  }
  const given = metadata['messageId']
  metadata['messageId'] = typeof given === 'string' ? given : String(id)
  metadata['streamName'] = streamName
  metadata['streamPosition'] = streamPosition
  metadata['globalPosition'] = BigInt(id)
  return metadata as AzothReadEventMetadata
}

function ownValue(value: unknown): PropertyDescriptor {
  return { value, writable: true, enumerable: true, configurable: true }
}

/**
 * An event just appended, as Emmett's `onAfterCommit` hook receives it: the event as the caller
 * gave it, with the metadata a later read will show (`version` is Azoth's, from 0).
 */
export function toRecordedEvent<E extends Event>(
  event: E,
  streamName: string,
  version: bigint,
  id: number,
): ReadEvent<E, AzothReadEventMetadata> {
  const given = (event as { metadata?: Record<string, unknown> }).metadata
  const metadata =
    given === undefined
      ? { messageId: String(id), streamName, streamPosition: version + 1n, globalPosition: BigInt(id) }
      : withStoredMetadata(given, id, streamName, version + 1n)
  return { type: event.type, data: event.data, metadata, kind: 'Event' } as unknown as ReadEvent<
    E,
    AzothReadEventMetadata
  >
}
