import { AssertionError, deepStrictEqual } from 'node:assert'
import { inspect } from 'node:util'
import {
  AzothError,
  type AzothEvent,
  decodeEvent,
  encodeEnvelope,
  type StreamEventInput,
} from '@azothdb/core'

/** The stream the given events of a decider specification belong to. */
export const SPEC_STREAM = 'spec-1'

function checkEvent(event: unknown, what: string): StreamEventInput {
  if (event === null || typeof event !== 'object' || typeof (event as StreamEventInput).type !== 'string') {
    throw new AzothError('INVALID_ARGUMENT', `${what} must be events: objects with a type`, {
      details: { argument: what },
    })
  }
  return event as StreamEventInput
}

/** One event or several as a list, each checked to be an event (`INVALID_ARGUMENT` otherwise). */
export function eventList(events: unknown, what: string): readonly StreamEventInput[] {
  const list = Array.isArray(events) ? events : [events]
  return list.map((e) => checkEvent(e, what))
}

/**
 * The event as a read would return it: encoded and decoded with the database's own codec, so
 * `evolve` sees decoded payloads (a class instance comes back a plain object, `data` left out comes
 * back `null`) and comparisons see what would be stored.
 */
export function asStored(event: StreamEventInput, id: number, version: bigint): AzothEvent {
  const bytes = encodeEnvelope({
    type: event.type,
    payload: event.data ?? null,
    metadata: event.metadata,
    timestamp: 0,
    stream: { name: SPEC_STREAM, version },
  })
  return decodeEvent(id, bytes)
}

/** The part of a stored event a specification compares: type, data and metadata (when there is any). */
export function comparable(event: AzothEvent): { type: string; data: unknown; metadata?: unknown } {
  return event.metadata === undefined
    ? { type: event.type, data: event.payload }
    : { type: event.type, data: event.payload, metadata: event.metadata }
}

/** Shows a value in a failure message. */
export function show(value: unknown): string {
  return inspect(value, { depth: 8, breakLength: 100 })
}

/** A failed expectation: an `AssertionError` (any test runner reports it) headed by `what`. */
export function failure(what: string, actual: unknown, expected: unknown): AssertionError {
  return new AssertionError({ message: what, actual, expected, operator: 'fail' })
}

/**
 * Throws an `AssertionError` unless `actual` deep-equals `expected`; its message starts with `what`
 * and goes on with Node's line diff of the two (`+ actual - expected`).
 */
export function assertEqual(what: string, actual: unknown, expected: unknown): void {
  try {
    deepStrictEqual(actual, expected)
  } catch (e) {
    if (!(e instanceof AssertionError)) throw e
    // Operator 'fail': with 'deepStrictEqual' Node appends a second diff to a given message.
    throw new AssertionError({ message: `${what}\n${e.message}`, actual, expected, operator: 'fail' })
  }
}
