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
  const stored = event.metadata
  const given = stored?.['messageId']
  const metadata = {
    ...stored,
    messageId: typeof given === 'string' ? given : String(event.id),
    // Every event read through a stream's index carries its stream reference.
    streamName: event.stream!.name,
    streamPosition: event.stream!.version + 1n,
    globalPosition: BigInt(event.id),
  }
  return { type: event.type, data: event.payload, metadata, kind: 'Event' } as unknown as ReadEvent<
    E,
    AzothReadEventMetadata
  >
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
  const messageId = given?.['messageId']
  const metadata = {
    ...given,
    messageId: typeof messageId === 'string' ? messageId : String(id),
    streamName,
    streamPosition: version + 1n,
    globalPosition: BigInt(id),
  }
  return { type: event.type, data: event.data, metadata, kind: 'Event' } as unknown as ReadEvent<
    E,
    AzothReadEventMetadata
  >
}
