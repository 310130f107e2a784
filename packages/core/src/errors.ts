/**
 * Every stable error code Azoth raises. Callers branch on these strings, never on messages.
 */
export const AZOTH_ERROR_CODES = [
  'PREFLIGHT_FAILED',
  'CONFLICT',
  'LOCK_TIMEOUT',
  'UNDECLARED_KEY',
  'TYPE_MISMATCH',
  'KEY_TOO_LARGE',
  'VALUE_TOO_LARGE',
  'EVENT_TOO_LARGE',
  'INVALID_ARGUMENT',
  'SEALED',
  'CLOSED',
  'LOCKED',
  'CORRUPTION',
  'NOT_FOUND',
  'CONFIG',
  'PROJECTION_FAILED',
  'IO',
  'READ_ONLY',
  'TIMEOUT',
] as const

/** The closed union of Azoth error codes. */
export type AzothErrorCode = (typeof AZOTH_ERROR_CODES)[number]

/** Extra, machine-readable facts about an error (file, offset, key, field...). */
export type AzothErrorDetails = Readonly<Record<string, unknown>>

/** The optional parts of an {@link AzothError}: the underlying error and machine-readable details. */
export interface AzothErrorOptions {
  /** The error that caused this one (an I/O error, a decoder error...); kept as `error.cause`. */
  readonly cause?: unknown
  /** Facts for programs and logs, e.g. `{ key, expected, actual }`; kept as `error.details`. */
  readonly details?: AzothErrorDetails
}

// A symbol registered globally, so errors from duplicate copies of this package are recognised.
const AZOTH_ERROR_BRAND = Symbol.for('azoth.error')

/**
 * The one base class of every error Azoth throws. Check errors with {@link isAzothError}
 * rather than `instanceof`, which fails when two copies of the package are installed.
 *
 * @example
 * try { await tx.commit() } catch (e) { if (isAzothError(e, 'CONFLICT')) retry() }
 */
export class AzothError extends Error {
  /** The stable code to branch on (e.g. `'CONFLICT'`); messages may change between versions, codes do not. */
  readonly code: AzothErrorCode
  /** Machine-readable facts about the failure (key, file, offset, field...), or `undefined`. */
  readonly details: AzothErrorDetails | undefined

  constructor(code: AzothErrorCode, message: string, options: AzothErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details
    Object.defineProperty(this, AZOTH_ERROR_BRAND, { value: true })
  }

  /** The subclass name (e.g. `'ConflictError'`), so stack traces and logs show the specific error. */
  override get name(): string {
    return this.constructor.name
  }
}

/** True when `e` is an Azoth error (from any copy of the package), optionally with one of `codes`. */
export function isAzothError<C extends AzothErrorCode>(
  e: unknown,
  ...codes: C[]
): e is AzothError & {
  /** One of the `codes` asked for. */
  readonly code: C
} {
  if (typeof e !== 'object' || e === null) return false
  if (!(e as Record<symbol, unknown>)[AZOTH_ERROR_BRAND]) return false
  return codes.length === 0 || codes.includes((e as AzothError).code as C)
}

/** A preflight check (`require*`, `validate`) rejected the transaction; nothing was written. */
export class PreflightFailedError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('PREFLIGHT_FAILED', message, options)
  }
}

/** A value read in preflight changed before the transaction reached the writer. */
export class ConflictError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('CONFLICT', message, options)
  }
}

/** Stripe locks could not be acquired in time; nothing stays held. */
export class LockTimeoutError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('LOCK_TIMEOUT', message, options)
  }
}

/** Bytes on disk or handed to a decoder are not what they claim to be. */
export class CorruptionError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('CORRUPTION', message, options)
  }
}

/** A configuration option is invalid; `details.field` names it. */
export class ConfigError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('CONFIG', message, options)
  }
}

/** A typed value was read as another type. */
export class TypeMismatchError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('TYPE_MISMATCH', message, options)
  }
}

/** The object was closed; no further calls are accepted. */
export class ClosedError extends AzothError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed`)
  }
}

/** The directory is held by another writer process. */
export class LockedError extends AzothError {
  constructor(message: string, options: AzothErrorOptions = {}) {
    super('LOCKED', message, options)
  }
}

/** Turns anything thrown into an Error, keeping Azoth errors as they are. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e
  return new Error(typeof e === 'string' ? e : `non-error thrown: ${String(e)}`)
}
