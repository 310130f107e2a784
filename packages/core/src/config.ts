import { ConfigError } from './errors.js'

/**
 * How a commit is acknowledged. `'sync'`: only once its data is on disk. `'relaxed'`: once the OS
 * has it (survives a process crash; a power loss may drop the last commits, never corrupts).
 */
export type Durability = 'sync' | 'relaxed'

/** Raises `CONFIG` naming `field` unless `value` is one of `allowed`. */
export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(
      `${field} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${String(value)}`,
      {
        details: { field, value },
      },
    )
  }
  return value as T
}

/** Raises `CONFIG` naming `field` unless `value` is an integer within `min..max`. */
export function checkInteger(
  field: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${field} must be an integer between ${min} and ${max}, got ${String(value)}`, {
      details: { field, value },
    })
  }
  return value
}

/** Raises `CONFIG` naming `field` unless `value` is a finite number within `min..max`. */
export function checkNumber(
  field: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${field} must be a number between ${min} and ${max}, got ${String(value)}`, {
      details: { field, value },
    })
  }
  return value
}

/** Raises `CONFIG` when an options object carries a field not in `known` (catches typos). */
export function checkKnownFields(what: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return
  for (const field of Object.keys(options)) {
    if (!known.includes(field)) {
      throw new ConfigError(`unknown option '${field}' for ${what}`, { details: { field } })
    }
  }
}
