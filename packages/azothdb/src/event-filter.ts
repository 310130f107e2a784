import {
  type AzothEvent,
  CorruptionError,
  type EventFilterOptions,
  type EventRecord,
  isAzothError,
} from '@azothdb/core'
import { compileEventFilter, decodeEnvelopeHeader, decodeEnvelopePayload } from '@azothdb/core/internal'

/**
 * A decoder that returns the events passing the filter fields of `options`, or undefined for the
 * others: it reads the envelope's header (type, stream) and decodes the payload only of events it
 * keeps. Returns undefined when `options` filter nothing (decode everything the usual way). Bad
 * filter fields raise `INVALID_ARGUMENT`.
 */
export function eventFilter(
  options: EventFilterOptions,
): ((record: EventRecord) => AzothEvent | undefined) | undefined {
  const { eventTypes, streams, streamPrefix } = options
  const keep = compileEventFilter({ eventTypes, streams, streamPrefix }, 'INVALID_ARGUMENT', 'subscribe')
  if (keep === undefined) return undefined
  return (record) => {
    try {
      const header = decodeEnvelopeHeader(record.bytes)
      if (!keep(header)) return undefined
      return {
        id: record.id,
        type: header.type,
        timestamp: header.timestamp,
        metadata: header.metadata,
        stream: header.stream,
        payload: decodeEnvelopePayload(record.bytes, header),
      }
    } catch (e) {
      if (!isAzothError(e, 'CORRUPTION')) throw e
      throw new CorruptionError(`event ${record.id}: ${e.message}`, {
        cause: e,
        details: { ...e.details, eventId: record.id },
      })
    }
  }
}
