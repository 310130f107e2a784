import type { AzothEvent, EventFilterOptions, EventRecord } from '@azothdb/core'
import { compileEventFilter, decodeEventHeader, eventFromHeader } from '@azothdb/core/internal'

/**
 * A decoder that returns the events passing the filter fields of `options`, or undefined for the
 * others: it reads the envelope's header (type, stream) and hands out only the events it keeps,
 * each payload decoded on its first access. Returns undefined when `options` filter nothing
 * (decode everything the usual way). Bad filter fields raise `INVALID_ARGUMENT`; a damaged header
 * raises `CORRUPTION` naming the event.
 */
export function eventFilter(
  options: EventFilterOptions,
): ((record: EventRecord) => AzothEvent | undefined) | undefined {
  const { eventTypes, streams, streamPrefix } = options
  const keep = compileEventFilter({ eventTypes, streams, streamPrefix }, 'INVALID_ARGUMENT', 'subscribe')
  if (keep === undefined) return undefined
  return (record) => {
    const header = decodeEventHeader(record.bytes, record.id)
    return keep(header) ? eventFromHeader(record.id, record.bytes, header) : undefined
  }
}
