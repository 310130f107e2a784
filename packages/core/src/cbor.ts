import { Decoder, Encoder } from 'cbor-x'
import { AzothError, CorruptionError } from './errors.js'

// `useRecords: false` keeps payloads plain CBOR that any reader can decode.
const encoder = new Encoder({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  tagUint8Array: true,
})
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

/** Encodes a value as plain CBOR (object keys in insertion order). */
export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value)
}

/** Decodes plain CBOR; anything malformed raises `CORRUPTION` naming `where`. */
export function decodeCbor(bytes: Uint8Array, where: string): unknown {
  try {
    return decoder.decode(bytes)
  } catch (e) {
    throw new CorruptionError(`malformed CBOR in ${where}`, { cause: e, details: { where } })
  }
}

/**
 * Returns a copy of `value` with every plain object's keys sorted, so encoding is deterministic.
 * Objects with a null prototype count as plain. An own `__proto__` key raises `INVALID_ARGUMENT`:
 * cbor-x renames it on decode (to guard against prototype pollution), so it could not round-trip.
 */
export function canonicalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalize)
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value)
    if (proto === Object.prototype || proto === null) {
      const src = value as Record<string, unknown>
      if (Object.hasOwn(src, '__proto__')) {
        throw new AzothError('INVALID_ARGUMENT', "an object key '__proto__' cannot be stored", {
          details: { key: '__proto__' },
        })
      }
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(src).sort()) out[k] = canonicalize(src[k])
      return out
    }
  }
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => [canonicalize(k), canonicalize(v)] as const)
    entries.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0))
    return new Map(entries)
  }
  return value
}
