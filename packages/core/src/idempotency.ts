import { checkInteger, checkKnownFields } from './config.js'
import { AzothError } from './errors.js'
import { utf8Encode } from './utf8.js'

/** Longest idempotency key, in UTF-8 bytes. */
export const MAX_IDEMPOTENCY_KEY_BYTES = 255

/**
 * How long a committed idempotency key is remembered: a key is a duplicate while fewer than
 * `maxKeys` new keys were stored after it AND it is younger than `maxAgeMs` on the database
 * clock. Past either bound the key is forgotten and a request carrying it applies again.
 */
export interface IdempotencyWindow {
  /** Keys remembered, newest first (default 100,000). */
  readonly maxKeys: number
  /** Age after which a key is forgotten, in milliseconds of the database clock (default 24 hours). */
  readonly maxAgeMs: number
}

/** The default window: the last 100,000 keys, for at most 24 hours. */
export const DEFAULT_IDEMPOTENCY_WINDOW: IdempotencyWindow = Object.freeze({
  maxKeys: 100_000,
  maxAgeMs: 24 * 60 * 60 * 1000,
})

/**
 * What a commit's idempotency key guards: the key, and the operation it was first used for. A
 * later commit with the same key and operation within the window is a duplicate: it writes
 * nothing and gets the first one's result. The same key with another operation is refused.
 */
export interface CommitOptions {
  /** The request's idempotency key: a non-empty well-formed string of at most 255 UTF-8 bytes. */
  readonly idempotencyKey?: string | undefined
  /**
   * What the key is used for (e.g. `'append:cart-42'`, `'transaction'`), at most 255 UTF-8 bytes;
   * default `''`. Reusing a key for another operation is `INVALID_ARGUMENT`.
   */
  readonly operation?: string | undefined
}

/** The UTF-8 bytes of a valid idempotency key; anything else raises `INVALID_ARGUMENT`. */
export function idempotencyKeyBytes(key: unknown): Uint8Array {
  if (typeof key !== 'string' || key.length === 0 || !key.isWellFormed()) {
    throw new AzothError('INVALID_ARGUMENT', 'an idempotency key must be a non-empty well-formed string', {
      details: { argument: 'idempotencyKey', value: typeof key === 'string' ? key : typeof key },
    })
  }
  const bytes = utf8Encode(key)
  if (bytes.length > MAX_IDEMPOTENCY_KEY_BYTES) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `an idempotency key must be at most ${MAX_IDEMPOTENCY_KEY_BYTES} UTF-8 bytes (got ${bytes.length})`,
      { details: { argument: 'idempotencyKey', bytes: bytes.length } },
    )
  }
  return bytes
}

/** Fills in the default window and validates it; a bad field raises `CONFIG` naming it. */
export function resolveIdempotencyWindow(partial: Partial<IdempotencyWindow> | undefined): IdempotencyWindow {
  checkKnownFields('idempotency', partial, Object.keys(DEFAULT_IDEMPOTENCY_WINDOW))
  return Object.freeze({
    maxKeys: checkInteger(
      'idempotency.maxKeys',
      partial?.maxKeys ?? DEFAULT_IDEMPOTENCY_WINDOW.maxKeys,
      1,
      2 ** 32,
    ),
    maxAgeMs: checkInteger(
      'idempotency.maxAgeMs',
      partial?.maxAgeMs ?? DEFAULT_IDEMPOTENCY_WINDOW.maxAgeMs,
      1,
    ),
  })
}
