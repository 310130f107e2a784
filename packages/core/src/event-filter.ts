import type { EnvelopeHeader } from './envelope.js'
import { AzothError } from './errors.js'

/**
 * Which events a feed (`db.subscribe`) or a projector takes; every given condition must hold.
 * Judged on the envelope's header (type and stream), so events left out are never decoded.
 */
export interface EventFilterOptions {
  /** Only events of these types. */
  readonly eventTypes?: readonly string[] | undefined
  /** Only events of these streams (exact names). */
  readonly streams?: readonly string[] | undefined
  /** Only events of streams whose names start with this (a category and its dash: `'cart-'`). */
  readonly streamPrefix?: string | undefined
}

/** True for the headers of events a filter keeps. */
export type HeaderFilter = (header: EnvelopeHeader) => boolean

function names(
  value: unknown,
  field: string,
  fail: (field: string, message: string) => never,
): ReadonlySet<string> | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) fail(field, 'must be an array of strings')
  for (const v of value as unknown[]) {
    if (typeof v !== 'string' || v.length === 0 || !v.isWellFormed()) {
      fail(field, 'must hold non-empty well-formed strings')
    }
  }
  return new Set(value as string[])
}

/**
 * Checks `options` and returns the predicate over envelope headers they describe, or undefined when
 * they filter nothing (so callers keep their unfiltered path). Bad options raise `code` naming the
 * field (`INVALID_ARGUMENT` for a call's argument, `CONFIG` for a component's options).
 */
export function compileEventFilter(
  options: EventFilterOptions | undefined,
  code: 'INVALID_ARGUMENT' | 'CONFIG',
  what: string,
): HeaderFilter | undefined {
  const fail = (field: string, message: string): never => {
    throw new AzothError(code, `${what}: ${field} ${message}`, { details: { field } })
  }
  if (options === undefined) return undefined
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('filter', 'must be an object')
  }
  for (const field of Object.keys(options)) {
    if (field !== 'eventTypes' && field !== 'streams' && field !== 'streamPrefix') {
      fail(field, 'is not a filter field (eventTypes, streams, streamPrefix)')
    }
  }
  const types = names(options.eventTypes, 'eventTypes', fail)
  const streams = names(options.streams, 'streams', fail)
  const prefix = options.streamPrefix
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length === 0)) {
    fail('streamPrefix', 'must be a non-empty string')
  }
  if (types === undefined && streams === undefined && prefix === undefined) return undefined
  return (header) => {
    if (types !== undefined && !types.has(header.type)) return false
    if (streams === undefined && prefix === undefined) return true
    const stream = header.stream?.name
    if (stream === undefined) return false
    if (streams !== undefined && !streams.has(stream)) return false
    return prefix === undefined || stream.startsWith(prefix)
  }
}
