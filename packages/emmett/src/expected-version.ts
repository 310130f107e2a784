import {
  type ExpectedStreamVersion as EmmettExpectedVersion,
  ExpectedVersionConflictError,
  NO_CONCURRENCY_CHECK,
  STREAM_DOES_NOT_EXIST,
  STREAM_EXISTS,
} from '@event-driven-io/emmett'
import {
  ExpectedVersionConflictError as AzothConflictError,
  AzothError,
  type ExpectedStreamVersion,
  isAzothError,
} from 'azothdb'

/**
 * The version Emmett reports for a stream with no events. Emmett counts stream positions from 1
 * (the first event is at 1, an empty stream is at 0) where Azoth counts versions from 0: an
 * Emmett position is always the Azoth version plus one.
 */
export const AzothEventStoreDefaultStreamVersion = 0n

/** Azoth's expected version for Emmett's; anything Emmett's types do not allow is `INVALID_ARGUMENT`. */
export function toAzothExpected(expected: unknown): ExpectedStreamVersion {
  if (expected === undefined || expected === NO_CONCURRENCY_CHECK) return 'any'
  if (expected === STREAM_DOES_NOT_EXIST) return 'no_stream'
  if (expected === STREAM_EXISTS) return 'stream_exists'
  if (typeof expected === 'bigint' && expected >= 0n) {
    // Position 0 is Emmett's "no events yet", as its own stores check it.
    return expected === 0n ? 'no_stream' : expected - 1n
  }
  throw new AzothError(
    'INVALID_ARGUMENT',
    "expectedStreamVersion must be a non-negative bigint, 'STREAM_EXISTS', 'STREAM_DOES_NOT_EXIST' or 'NO_CONCURRENCY_CHECK'",
    { details: { expected: typeof expected === 'bigint' ? expected : String(expected) } },
  )
}

/** The Emmett position of a stream whose last Azoth version is `version` (undefined: no events). */
export function toEmmettPosition(version: bigint | undefined): bigint {
  return version === undefined ? AzothEventStoreDefaultStreamVersion : version + 1n
}

/**
 * Emmett's conflict error for Azoth's: Emmett code (its `CommandHandler` retries, an application's
 * `isExpectedVersionConflictError`) recognises only its own class and code 412. Azoth's error stays
 * reachable as `cause`, with the stream and both versions in Azoth's terms.
 */
export function toEmmettConflict(error: unknown, expected: EmmettExpectedVersion | undefined): unknown {
  if (!isAzothError(error, 'CONFLICT')) return error
  const actual = error.details?.['actual']
  if (actual !== 'no_stream' && typeof actual !== 'bigint') return error
  const current = actual === 'no_stream' ? undefined : actual
  const conflict = new ExpectedVersionConflictError(
    toEmmettPosition(current),
    expected ?? NO_CONCURRENCY_CHECK,
  )
  Object.defineProperty(conflict, 'cause', { value: error, writable: true, configurable: true })
  return conflict
}

/** Throws Emmett's conflict error unless a stream at Azoth version `current` meets `expected`. */
export function checkExpected(
  stream: string,
  expected: EmmettExpectedVersion | undefined,
  current: bigint | undefined,
): void {
  const wanted = toAzothExpected(expected)
  const matches =
    wanted === 'any' ||
    (wanted === 'no_stream' && current === undefined) ||
    (wanted === 'stream_exists' && current !== undefined) ||
    wanted === current
  if (matches) return
  throw toEmmettConflict(new AzothConflictError(stream, wanted, current), expected)
}
