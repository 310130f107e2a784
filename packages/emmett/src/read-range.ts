import { AzothError, type ReadStreamOptions } from 'azothdb'

/** The range part of Emmett's read options (`ReadStreamOptions`), as callers may really pass it. */
interface EmmettRange {
  readonly from?: unknown
  readonly to?: unknown
  readonly maxCount?: unknown
}

function position(value: unknown, field: string): bigint | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'bigint' && value >= 0n) return value
  throw new AzothError('INVALID_ARGUMENT', `${field} must be a non-negative bigint`, {
    details: { field, value: typeof value === 'bigint' ? value : String(value) },
  })
}

/**
 * Azoth's read range for Emmett's read options: `from` and `to` are inclusive Emmett positions
 * (from 1), `maxCount` a bigint where `0n`, as in Emmett's own stores, sets no limit. Anything
 * else is `INVALID_ARGUMENT`.
 */
export function toAzothRange(options: EmmettRange | undefined): ReadStreamOptions | undefined {
  if (options === undefined) return undefined
  if (options === null || typeof options !== 'object') {
    throw new AzothError('INVALID_ARGUMENT', 'readStream options must be an object', {})
  }
  const from = position(options.from, 'from')
  const to = position(options.to, 'to')
  const max = position(options.maxCount, 'maxCount')
  if (from === undefined && to === undefined && (max === undefined || max === 0n)) return undefined
  if (max !== undefined && max > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AzothError('INVALID_ARGUMENT', 'maxCount must be at most 2^53 - 1', {
      details: { field: 'maxCount' },
    })
  }
  // Position 0 precedes the first event: a range ending there holds nothing.
  if (to === 0n) return { maxCount: 0 }
  // Set key by key: keys added after a spread go through V8's slow path (~0.6 µs each).
  const range: { from?: bigint; to?: bigint; maxCount?: number } = {}
  if (from !== undefined && from > 0n) range.from = from - 1n
  if (to !== undefined) range.to = to - 1n
  if (max !== undefined && max > 0n) range.maxCount = Number(max)
  return range
}
