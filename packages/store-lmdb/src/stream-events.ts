import { AzothError, encodeEnvelope, type Limits } from '@azothdb/core'
import { checkEventSize } from '@azothdb/core/internal'

function invalid(message: string, details: Record<string, unknown>): never {
  throw new AzothError('INVALID_ARGUMENT', message, { details })
}

/**
 * The envelopes of `events` (versions `first`, `first + 1`, ... of `stream`) when it is a
 * non-empty array of `{ type, data?, metadata? }` objects, else `INVALID_ARGUMENT`;
 * `EVENT_TOO_LARGE` when an event, or the transaction's events with `bytes` before them, are over
 * a limit. The array and each event are read once: encoding runs the data's code (its getters),
 * which may change them, and a second read would find another length or another event.
 */
export function encodeStreamEvents(
  stream: string,
  first: bigint,
  events: unknown,
  timestamp: number,
  limits: Limits,
  bytes: number,
): Uint8Array[] {
  if (!Array.isArray(events) || events.length === 0) {
    invalid('an append to a stream needs a non-empty array of events', { stream })
  }
  const count = events.length
  const out = new Array<Uint8Array>(count)
  for (let i = 0; i < count; i++) {
    const e: unknown = events[i]
    const type = e === null || typeof e !== 'object' ? undefined : (e as { type?: unknown }).type
    if (typeof type !== 'string') {
      invalid('each stream event must be an object with a string type', { stream, index: i })
    }
    const { data, metadata } = e as { data?: unknown; metadata?: never }
    const envelope = encodeEnvelope({
      type,
      timestamp,
      payload: data ?? null,
      metadata,
      stream: { name: stream, version: first + BigInt(i) },
    })
    bytes += envelope.length
    checkEventSize(envelope.length, bytes, limits, type)
    out[i] = envelope
  }
  return out
}
