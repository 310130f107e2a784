import { AzothError, encodeEnvelope, type StreamEventInput } from '@azothdb/core'

function invalid(message: string, details: Record<string, unknown>): never {
  throw new AzothError('INVALID_ARGUMENT', message, { details })
}

/** `events` when it is a non-empty array of `{ type, data?, metadata? }` objects; else `INVALID_ARGUMENT`. */
export function checkStreamEvents(stream: string, events: unknown): readonly StreamEventInput[] {
  if (!Array.isArray(events) || events.length === 0) {
    invalid('an append to a stream needs a non-empty array of events', { stream })
  }
  for (let i = 0; i < events.length; i++) {
    const e: unknown = events[i]
    if (e === null || typeof e !== 'object' || typeof (e as StreamEventInput).type !== 'string') {
      invalid('each stream event must be an object with a string type', { stream, index: i })
    }
  }
  return events as readonly StreamEventInput[]
}

/** The envelopes of `events`, versions `first`, `first + 1`, ... of `stream`. */
export function encodeStreamEvents(
  stream: string,
  first: bigint,
  events: readonly StreamEventInput[],
  timestamp: number,
): Uint8Array[] {
  const out = new Array<Uint8Array>(events.length)
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!
    out[i] = encodeEnvelope({
      type: e.type,
      timestamp,
      payload: e.data ?? null,
      metadata: e.metadata,
      stream: { name: stream, version: first + BigInt(i) },
    })
  }
  return out
}
