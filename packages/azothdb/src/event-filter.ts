import { AzothError, type AzothEvent, CorruptionError, type EventRecord, isAzothError } from '@azothdb/core'
import { decodeEnvelopeHeader, decodeEnvelopePayload, streamNameBytes } from '@azothdb/core/internal'

/** Which events a feed delivers; every given condition must hold. Omitted: all events. */
export interface EventFilterOptions {
  /** Only events of these types. */
  readonly eventTypes?: readonly string[]
  /** Only events of these streams. */
  readonly streams?: readonly string[]
  /** Only events of streams whose names start with this (a category: `'cart-'`). */
  readonly streamPrefix?: string
}

function invalid(field: string, message: string): never {
  throw new AzothError('INVALID_ARGUMENT', `${field} ${message}`, { details: { field } })
}

function stringList(value: unknown, field: string): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    invalid(field, 'must be an array of strings')
  }
  return new Set(value as string[])
}

/**
 * A decoder that returns the events passing `options`, or undefined for the others: it reads the
 * envelope's header (type, stream) and decodes the payload only of events it keeps. Returns
 * undefined when `options` filter nothing (decode everything the usual way).
 */
export function eventFilter(
  options: EventFilterOptions,
): ((record: EventRecord) => AzothEvent | undefined) | undefined {
  const types = stringList(options.eventTypes, 'eventTypes')
  const streams = stringList(options.streams, 'streams')
  for (const s of streams ?? []) streamNameBytes(s)
  const prefix = options.streamPrefix
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0)) {
    invalid('streamPrefix', 'must be a non-empty string')
  }
  if (types === undefined && streams === undefined && prefix === undefined) return undefined
  return (record) => {
    try {
      const header = decodeEnvelopeHeader(record.bytes)
      if (types !== undefined && !types.has(header.type)) return undefined
      const stream = header.stream?.name
      if (streams !== undefined && (stream === undefined || !streams.has(stream))) return undefined
      if (prefix !== undefined && (stream === undefined || !stream.startsWith(prefix))) return undefined
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
