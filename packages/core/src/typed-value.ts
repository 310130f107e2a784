import { AzothError, ConfigError, TypeMismatchError } from './errors.js'

/** The kinds of value the state can hold. */
export type TypedValueKind = 'i64' | 'u256' | 'string' | 'bytes' | 'bool' | 'f64' | 'set' | 'array' | 'json'

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n
const U256_MAX = 2n ** 256n - 1n

/** Checked accessors shared by every typed value: each throws `TYPE_MISMATCH` on the wrong kind. */
export interface TypedValueAccessors {
  /** The i64 as a bigint. */
  asI64(): bigint
  /** The u256 as a bigint. */
  asU256(): bigint
  /** An i64 or u256 as a bigint: what `requireMin`/`requireMax` compare. */
  asBigInt(): bigint
  /** The string value; throws `TYPE_MISMATCH` unless `kind` is `'string'`. */
  asString(): string
  /** The raw bytes (not a copy: do not mutate); throws `TYPE_MISMATCH` unless `kind` is `'bytes'`. */
  asBytes(): Uint8Array
  /** The boolean; throws `TYPE_MISMATCH` unless `kind` is `'bool'`. */
  asBool(): boolean
  /** The 64-bit float; throws `TYPE_MISMATCH` unless `kind` is `'f64'` (an i64 is not converted). */
  asF64(): number
  /** The set's members, sorted by UTF-8 bytes, without duplicates. */
  asSet(): readonly string[]
  /** The array's items in insertion order; throws `TYPE_MISMATCH` unless `kind` is `'array'`. */
  asArray(): readonly string[]
  /** The decoded JSON/CBOR value; throws `TYPE_MISMATCH` unless `kind` is `'json'`. */
  asJson(): unknown
  /** True when both values have the same kind and encode to the same bytes. */
  equals(other: TypedValue | undefined): boolean
}

/** A signed 64-bit integer value, built with `TypedValue.i64()`. */
export interface I64Value extends TypedValueAccessors {
  /** Always `'i64'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'i64'
  /** The integer, always within -2^63 … 2^63-1. */
  readonly value: bigint
}
/** An unsigned 256-bit integer value (balances, token amounts), built with `TypedValue.u256()`. */
export interface U256Value extends TypedValueAccessors {
  /** Always `'u256'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'u256'
  /** The integer, always within 0 … 2^256-1. */
  readonly value: bigint
}
/** A UTF-8 string value, built with `TypedValue.string()`. */
export interface StringValue extends TypedValueAccessors {
  /** Always `'string'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'string'
  /** The string; always well-formed (no lone surrogates). */
  readonly value: string
}
/** An opaque byte-string value, built with `TypedValue.bytes()`. */
export interface BytesValue extends TypedValueAccessors {
  /** Always `'bytes'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'bytes'
  /** The bytes; shared, not copied, so treat them as read-only. */
  readonly value: Uint8Array
}
/** A boolean value, built with `TypedValue.bool()`. */
export interface BoolValue extends TypedValueAccessors {
  /** Always `'bool'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'bool'
  /** The boolean. */
  readonly value: boolean
}
/** A 64-bit floating-point value, built with `TypedValue.f64()`. Use i64/u256 for amounts that must be exact. */
export interface F64Value extends TypedValueAccessors {
  /** Always `'f64'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'f64'
  /** The number (may be NaN or ±Infinity). */
  readonly value: number
}
/** A set of strings, built with `TypedValue.set()`; kept canonical so equal sets encode to equal bytes. */
export interface SetValue extends TypedValueAccessors {
  /** Always `'set'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'set'
  /** Sorted by UTF-8 bytes, no duplicates: the canonical form. */
  readonly value: readonly string[]
}
/** An ordered list of strings (duplicates allowed), built with `TypedValue.array()`. */
export interface ArrayValue extends TypedValueAccessors {
  /** Always `'array'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'array'
  /** The items, in the order they were given. */
  readonly value: readonly string[]
}
/** Any CBOR-encodable structured value, built with `TypedValue.json()`. */
export interface JsonValue extends TypedValueAccessors {
  /** Always `'json'`: narrow the {@link TypedValue} union on it. */
  readonly kind: 'json'
  /** The decoded value; never `undefined`. */
  readonly value: unknown
}

/**
 * A value in the state: a discriminated union on `kind`. Narrow with `v.kind === 'i64'` and read
 * `v.value`, or use a checked accessor such as `v.asI64()`.
 *
 * @example
 * const balance = TypedValue.i64(100n)
 * balance.asI64() // 100n
 * balance.asString() // throws AzothError TYPE_MISMATCH
 */
export type TypedValue =
  | I64Value
  | U256Value
  | StringValue
  | BytesValue
  | BoolValue
  | F64Value
  | SetValue
  | ArrayValue
  | JsonValue

// Equality needs the codec; it registers itself here so this module does not import it in a cycle.
let encodeForEquality: ((v: TypedValue) => Uint8Array) | undefined
/** @internal */
export function registerEqualityEncoder(encode: (v: TypedValue) => Uint8Array): void {
  encodeForEquality = encode
}

function mismatch(actual: TypedValueKind, wanted: string): never {
  throw new TypeMismatchError(`expected a ${wanted} value, found ${actual}`, {
    details: { expected: wanted, actual },
  })
}

class TypedValueImpl {
  constructor(
    readonly kind: TypedValueKind,
    readonly value: unknown,
  ) {}

  asI64(): bigint {
    return this.kind === 'i64' ? (this.value as bigint) : mismatch(this.kind, 'i64')
  }
  asU256(): bigint {
    return this.kind === 'u256' ? (this.value as bigint) : mismatch(this.kind, 'u256')
  }
  asBigInt(): bigint {
    return this.kind === 'i64' || this.kind === 'u256'
      ? (this.value as bigint)
      : mismatch(this.kind, 'i64 or u256')
  }
  asString(): string {
    return this.kind === 'string' ? (this.value as string) : mismatch(this.kind, 'string')
  }
  asBytes(): Uint8Array {
    return this.kind === 'bytes' ? (this.value as Uint8Array) : mismatch(this.kind, 'bytes')
  }
  asBool(): boolean {
    return this.kind === 'bool' ? (this.value as boolean) : mismatch(this.kind, 'bool')
  }
  asF64(): number {
    return this.kind === 'f64' ? (this.value as number) : mismatch(this.kind, 'f64')
  }
  asSet(): readonly string[] {
    return this.kind === 'set' ? (this.value as string[]) : mismatch(this.kind, 'set')
  }
  asArray(): readonly string[] {
    return this.kind === 'array' ? (this.value as string[]) : mismatch(this.kind, 'array')
  }
  asJson(): unknown {
    return this.kind === 'json' ? this.value : mismatch(this.kind, 'json')
  }
  equals(other: TypedValue | undefined): boolean {
    if (other === undefined || other.kind !== this.kind) return false
    if (encodeForEquality === undefined) throw new ConfigError('typed value codec not loaded')
    return bytesEqual(encodeForEquality(this as unknown as TypedValue), encodeForEquality(other))
  }
  toJSON(): unknown {
    const v = this.value
    if (typeof v === 'bigint') return { kind: this.kind, value: v.toString() }
    if (v instanceof Uint8Array) return { kind: this.kind, value: Buffer.from(v).toString('base64') }
    return { kind: this.kind, value: v }
  }
  toString(): string {
    const v = this.value
    let shown: string
    if (this.kind === 'json') shown = JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x))
    else if (v instanceof Uint8Array)
      shown = `0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`
    else if (Array.isArray(v)) shown = JSON.stringify(v)
    else shown = String(v)
    return `TypedValue(${this.kind}: ${shown})`
  }
}

/** @internal Builds a value without validation; the codec uses it for already-checked bytes. */
export function unsafeTypedValue(kind: TypedValueKind, value: unknown): TypedValue {
  return new TypedValueImpl(kind, value) as unknown as TypedValue
}

function invalid(message: string, details: Record<string, unknown>): never {
  throw new AzothError('INVALID_ARGUMENT', message, { details })
}

function checkString(s: unknown, what: string): string {
  if (typeof s !== 'string') invalid(`${what} must be a string`, { value: s })
  if (!s.isWellFormed())
    invalid(`${what} contains a lone surrogate and cannot be stored as UTF-8`, { value: s })
  return s
}

const utf8 = new TextEncoder()

/** Compares two strings by their UTF-8 bytes, the order keys and set members are stored in. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0
  const x = utf8.encode(a)
  const y = utf8.encode(b)
  return compareBytes(x, y)
}

/** Bytewise comparison, like LMDB's default key order. */
export function compareBytes(x: Uint8Array, y: Uint8Array): number {
  const n = Math.min(x.length, y.length)
  for (let i = 0; i < n; i++) {
    const d = x[i]! - y[i]!
    if (d !== 0) return d
  }
  return x.length - y.length
}

/** True when both byte arrays hold the same bytes. */
export function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}

// A string is iterable too: `set('tag')` would silently become the set of its characters.
function checkStrings(items: Iterable<string>, what: string): Iterable<string> {
  if (
    typeof items !== 'object' ||
    items === null ||
    typeof (items as Partial<Iterable<string>>)[Symbol.iterator] !== 'function'
  ) {
    invalid(`${what} must be an iterable of strings (an array or a Set), not a ${typeof items}`, {
      value: items,
    })
  }
  return items
}

function canonicalSet(members: Iterable<string>): string[] {
  const checked = checkStrings(members, 'set members')
  const out = Array.from(new Set(Array.from(checked, (m) => checkString(m, 'set member'))))
  return out.sort(compareUtf8)
}

/** Constructors and helpers for {@link TypedValue}. Constructors validate and throw `INVALID_ARGUMENT`. */
export const TypedValue = {
  /** A signed 64-bit integer; numbers must be safe integers. */
  i64(v: bigint | number): I64Value {
    const b = typeof v === 'number' ? numberToBigInt(v) : v
    if (typeof b !== 'bigint' || b < I64_MIN || b > I64_MAX) invalid('i64 out of range', { value: String(v) })
    return new TypedValueImpl('i64', b) as unknown as I64Value
  },
  /** An unsigned 256-bit integer (0 ≤ v < 2^256), stored fixed-width. */
  u256(v: bigint | number): U256Value {
    const b = typeof v === 'number' ? numberToBigInt(v) : v
    if (typeof b !== 'bigint' || b < 0n || b > U256_MAX) invalid('u256 out of range', { value: String(v) })
    return new TypedValueImpl('u256', b) as unknown as U256Value
  },
  /** A string; throws `INVALID_ARGUMENT` for a non-string or one with lone surrogates (not storable as UTF-8). */
  string(v: string): StringValue {
    return new TypedValueImpl('string', checkString(v, 'string value')) as unknown as StringValue
  },
  /** Raw bytes; the array is not copied, so do not mutate it afterwards. */
  bytes(v: Uint8Array): BytesValue {
    if (!(v instanceof Uint8Array)) invalid('bytes value must be a Uint8Array', { value: v })
    return new TypedValueImpl('bytes', v) as unknown as BytesValue
  },
  /** A boolean; throws `INVALID_ARGUMENT` for anything that is not `true` or `false`. */
  bool(v: boolean): BoolValue {
    if (typeof v !== 'boolean') invalid('bool value must be a boolean', { value: v })
    return new TypedValueImpl('bool', v) as unknown as BoolValue
  },
  /** A 64-bit float; throws `INVALID_ARGUMENT` for a non-number. Prefer i64/u256 for exact amounts. */
  f64(v: number): F64Value {
    if (typeof v !== 'number') invalid('f64 value must be a number', { value: v })
    return new TypedValueImpl('f64', v) as unknown as F64Value
  },
  /** A set of strings, kept sorted by UTF-8 bytes and deduplicated so it encodes deterministically. */
  set(members: Iterable<string>): SetValue {
    return new TypedValueImpl('set', canonicalSet(members)) as unknown as SetValue
  },
  /** An ordered list of strings. */
  array(items: Iterable<string>): ArrayValue {
    return new TypedValueImpl(
      'array',
      Array.from(checkStrings(items, 'array items'), (s) => checkString(s, 'array item')),
    ) as unknown as ArrayValue
  },
  /** Any CBOR-encodable value; object keys are sorted on encoding, so equal objects give equal bytes. */
  json(v: unknown): JsonValue {
    if (v === undefined) invalid('json value must not be undefined', {})
    return new TypedValueImpl('json', v) as unknown as JsonValue
  },
  /**
   * Picks the natural kind for a JS value: bigint → i64, string → string, boolean → bool,
   * number → f64, Uint8Array → bytes, Set → set, anything else → json.
   */
  of(v: unknown): TypedValue {
    if (isTypedValue(v)) return v
    switch (typeof v) {
      case 'bigint':
        return TypedValue.i64(v)
      case 'string':
        return TypedValue.string(v)
      case 'boolean':
        return TypedValue.bool(v)
      case 'number':
        return TypedValue.f64(v)
      default:
        if (v instanceof Uint8Array) return TypedValue.bytes(v)
        if (v instanceof Set) return TypedValue.set(v as Set<string>)
        return TypedValue.json(v)
    }
  },
  /** True when `v` is a typed value. */
  is(v: unknown): v is TypedValue {
    return isTypedValue(v)
  },
} as const

/** True when `v` is a {@link TypedValue}. */
export function isTypedValue(v: unknown): v is TypedValue {
  return v instanceof TypedValueImpl
}

function numberToBigInt(n: number): bigint {
  if (!Number.isSafeInteger(n)) invalid('integer values given as numbers must be safe integers', { value: n })
  return BigInt(n)
}
