import type { AzothEvent } from 'azothdb'
import { jsonSafe } from './json-safe.js'

/** An event as one JSON object: its header, and the payload made JSON-safe (raw bytes as base64). */
export function eventJson(event: AzothEvent): Record<string, unknown> {
  return {
    id: event.id,
    type: event.type,
    timestamp: event.timestamp,
    time: new Date(event.timestamp).toISOString(),
    stream: event.stream?.name ?? null,
    streamVersion: event.stream?.version ?? null,
    metadata: jsonSafe(event.metadata),
    payload: jsonSafe(event.payload),
  }
}

/** The cells of an event's table row: id, time, type, stream@version, payload as compact JSON. */
export function eventCells(event: AzothEvent): string[] {
  const stream = event.stream === undefined ? '' : `${event.stream.name}@${event.stream.version}`
  const payload =
    event.payload instanceof Uint8Array
      ? `<${event.payload.byteLength} bytes>`
      : JSON.stringify(jsonSafe(event.payload))
  return [String(event.id), new Date(event.timestamp).toISOString(), event.type, stream, payload]
}
