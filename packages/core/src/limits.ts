import { checkKnownFields } from './config.js'
import { AzothError, ConfigError } from './errors.js'

/** Size limits enforced before anything is written. */
export interface Limits {
  /** Longest state key, in bytes (default 511, at most 1978: LMDB's own limit in lmdb-js). */
  readonly maxKeyBytes: number
  /** Largest encoded state value, in bytes (default 16 MiB). */
  readonly maxValueBytes: number
  /** Largest encoded event envelope, in bytes (default 4 MiB). */
  readonly maxEventBytes: number
  /** Largest total of one transaction's events, in bytes (default 64 MiB). */
  readonly maxTransactionEventBytes: number
}

const MiB = 1024 * 1024

/**
 * The limits used when none are configured: keys up to 511 bytes, values up to 16 MiB, events up
 * to 4 MiB and 64 MiB of events per transaction. Frozen; spread it to derive your own.
 *
 * @example
 * const limits = { ...DEFAULT_LIMITS, maxValueBytes: 1024 * 1024 }
 */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxKeyBytes: 511,
  maxValueBytes: 16 * MiB,
  maxEventBytes: 4 * MiB,
  maxTransactionEventBytes: 64 * MiB,
})

const HARD_MAX: Limits = Object.freeze({
  maxKeyBytes: 1978,
  maxValueBytes: 1024 * MiB,
  maxEventBytes: 1024 * MiB,
  maxTransactionEventBytes: 2047 * MiB,
})

/** Fills in defaults and validates; a bad field raises `CONFIG` naming it. */
export function resolveLimits(partial: Partial<Limits> | undefined): Limits {
  checkKnownFields('limits', partial, Object.keys(DEFAULT_LIMITS))
  const out = { ...DEFAULT_LIMITS, ...partial }
  for (const field of Object.keys(DEFAULT_LIMITS) as (keyof Limits)[]) {
    const v = out[field]
    if (!Number.isSafeInteger(v) || v < 1 || v > HARD_MAX[field]) {
      throw new ConfigError(
        `limits.${field} must be an integer between 1 and ${HARD_MAX[field]}, got ${String(v)}`,
        {
          details: { field: `limits.${field}`, value: v },
        },
      )
    }
  }
  return Object.freeze(out)
}

/** Raises `KEY_TOO_LARGE` when a key exceeds the limit. */
export function checkKeySize(byteLength: number, limits: Limits, key: unknown): void {
  if (byteLength > limits.maxKeyBytes) {
    throw new AzothError(
      'KEY_TOO_LARGE',
      `key of ${byteLength} bytes exceeds the limit of ${limits.maxKeyBytes}`,
      {
        details: { size: byteLength, limit: limits.maxKeyBytes, key: describeKey(key) },
      },
    )
  }
}

/** Raises `VALUE_TOO_LARGE` when an encoded value exceeds the limit. */
export function checkValueSize(byteLength: number, limits: Limits, key: unknown): void {
  if (byteLength > limits.maxValueBytes) {
    throw new AzothError(
      'VALUE_TOO_LARGE',
      `value of ${byteLength} bytes exceeds the limit of ${limits.maxValueBytes}`,
      { details: { size: byteLength, limit: limits.maxValueBytes, key: describeKey(key) } },
    )
  }
}

/** Raises `EVENT_TOO_LARGE` when one event, or one transaction's events, exceed the limits. */
export function checkEventSize(
  byteLength: number,
  transactionTotal: number,
  limits: Limits,
  type: string,
): void {
  if (byteLength > limits.maxEventBytes) {
    throw new AzothError(
      'EVENT_TOO_LARGE',
      `event '${type}' of ${byteLength} bytes exceeds the limit of ${limits.maxEventBytes}`,
      { details: { size: byteLength, limit: limits.maxEventBytes, type } },
    )
  }
  if (transactionTotal > limits.maxTransactionEventBytes) {
    throw new AzothError(
      'EVENT_TOO_LARGE',
      `the transaction's events total ${transactionTotal} bytes, over the limit of ${limits.maxTransactionEventBytes}`,
      { details: { size: transactionTotal, limit: limits.maxTransactionEventBytes, type } },
    )
  }
}

function describeKey(key: unknown): string {
  const s = typeof key === 'string' ? key : key instanceof Uint8Array ? `<${key.length} bytes>` : String(key)
  return s.length > 64 ? `${s.slice(0, 61)}...` : s
}
