import type { Clock } from './clock.js'
import { AzothError, ConfigError } from './errors.js'
import type { Logger } from './logger.js'

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

/**
 * Raises `CONFIG` unless `options` is undefined or an object whose fields are all in `known`
 * (catches typos, and `null`, strings or arrays passed where options belong).
 */
export function checkKnownFields(what: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return
  if (!isOptionsObject(options)) {
    throw new ConfigError(`the options of ${what} must be an object, got ${describeValue(options)}`, {
      details: { field: what, value: describeValue(options) },
    })
  }
  for (const field of Object.keys(options)) {
    if (!known.includes(field)) {
      throw new ConfigError(`unknown option '${field}' for ${what}`, { details: { field } })
    }
  }
}

/**
 * What a value must be: a test and the words an error uses for it. The same rules check options
 * (`checkOption`, raising `CONFIG`) and call arguments (`checkArgument`, raising `INVALID_ARGUMENT`),
 * so every entry point validates the same way and says so in the same words.
 */
export interface Rule<T> {
  readonly expected: string
  readonly test: (value: unknown) => value is T
}

/** An options bag or a query: any object but null and arrays (class instances are fine). */
function isOptionsObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The rules the packages share; build others with `withMethods`. */
export const rules = {
  boolean: { expected: 'a boolean', test: (v): v is boolean => typeof v === 'boolean' },
  string: { expected: 'a string', test: (v): v is string => typeof v === 'string' },
  /** A file system path: a non-empty string without NUL bytes (`''` would mean the working directory). */
  path: {
    expected: 'a non-empty path string',
    test: (v): v is string => typeof v === 'string' && v.length > 0 && !v.includes('\0'),
  },
  function: {
    expected: 'a function',
    // biome-ignore lint/complexity/noBannedTypes: any callable passes; its signature is the caller's.
    test: (v): v is Function => typeof v === 'function',
  },
  object: { expected: 'an object', test: isOptionsObject },
  array: { expected: 'an array', test: (v): v is readonly unknown[] => Array.isArray(v) },
  /** An iterable object; a string is refused (iterating one yields characters, never what was meant). */
  iterable: {
    expected: 'an iterable (an array, a Set...)',
    test: (v): v is Iterable<unknown> =>
      typeof v === 'object' && v !== null && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function',
  },
  /** A row id, a count of items: a safe integer of at least 1. */
  positiveInteger: {
    expected: 'an integer of at least 1',
    test: (v): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1,
  },
  /** A count that may be zero, an offset: a safe integer of at least 0. */
  nonNegativeInteger: {
    expected: 'an integer of at least 0',
    test: (v): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  },
  /** A duration, an interval: a finite number above 0. */
  positiveNumber: {
    expected: 'a finite number above 0',
    test: (v): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0,
  },
  key: {
    expected: 'a key (a string or a Uint8Array)',
    test: (v): v is string | Uint8Array => typeof v === 'string' || v instanceof Uint8Array,
  },
  clock: withMethods<Clock>('a Clock (with now() and sleep())', ['now', 'sleep']),
  logger: withMethods<Logger>('a Logger (pino-compatible: trace, debug, info, warn, error, child)', [
    'trace',
    'debug',
    'info',
    'warn',
    'error',
    'child',
  ]),
} satisfies Record<string, Rule<unknown>>

/** A rule for an object that has every method in `methods` (a `Clock`, a `Logger`). */
export function withMethods<T>(expected: string, methods: readonly string[]): Rule<T> {
  return {
    expected,
    test: (v): v is T =>
      ((typeof v === 'object' && v !== null) || typeof v === 'function') &&
      methods.every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
  }
}

/** A rule that also accepts undefined (an omitted option or argument). */
export function optional<T>(rule: Rule<T>): Rule<T | undefined> {
  return {
    expected: `${rule.expected} or undefined`,
    test: (v): v is T | undefined => v === undefined || rule.test(v),
  }
}

/** Raises `CONFIG` naming the option `field` unless `value` passes `rule`. */
export function checkOption<T>(field: string, value: unknown, rule: Rule<T>): T {
  if (!rule.test(value)) {
    throw new ConfigError(`${field} must be ${rule.expected}, got ${describeValue(value)}`, {
      details: { field, value: describeValue(value) },
    })
  }
  return value
}

/** Raises `INVALID_ARGUMENT` naming the argument `name` unless `value` passes `rule`. */
export function checkArgument<T>(name: string, value: unknown, rule: Rule<T>): T {
  if (!rule.test(value)) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `${name} must be ${rule.expected}, got ${describeValue(value)}`,
      {
        details: { argument: name, value: describeValue(value) },
      },
    )
  }
  return value
}

/**
 * Raises `INVALID_ARGUMENT` unless `value` is undefined or an object whose fields are all in
 * `fields` and pass their rules (an undefined field is an omitted one): for the option bags passed
 * with a call (`scan`'s options, an event query), where a typo must not silently mean "no limit".
 */
export function checkArgumentFields(
  name: string,
  value: unknown,
  fields: Readonly<Record<string, Rule<unknown>>>,
): void {
  if (value === undefined) return
  checkArgument(name, value, rules.object)
  for (const [field, v] of Object.entries(value as Record<string, unknown>)) {
    const rule = fields[field]
    if (rule === undefined) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        `unknown field '${field}' in ${name} (known: ${Object.keys(fields).join(', ')})`,
        { details: { argument: `${name}.${field}` } },
      )
    }
    if (v !== undefined) checkArgument(`${name}.${field}`, v, rule)
  }
}

/**
 * A short description of a bad value for an error message (never the whole value, and never its
 * own conversion: a null-prototype object has none, and a caller's toString may throw).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string')
    return value.length > 40 ? `a string of ${value.length} characters` : `'${value}'`
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'function') return 'a function'
  return String(value)
}
