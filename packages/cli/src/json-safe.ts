/**
 * Turns what the database hands out into plain JSON: bigints become decimal strings (JSON numbers
 * would lose precision past 2^53), bytes become base64, maps become objects, sets arrays, dates ISO
 * strings, and non-finite numbers strings.
 */
export function jsonSafe(value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      return value.toString()
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'undefined':
      return null
    case 'function':
    case 'symbol':
      return String(value)
    case 'object':
      return objectSafe(value)
    default:
      return value
  }
}

function objectSafe(value: object | null): unknown {
  if (value === null) return null
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Array.isArray(value)) return value.map(jsonSafe)
  if (value instanceof Set) return [...value].map(jsonSafe)
  // Null-prototype objects: an own `__proto__` key of a payload stays a key, never a prototype.
  if (value instanceof Map) {
    const out: Record<string, unknown> = Object.create(null)
    for (const [k, v] of value) out[String(k)] = jsonSafe(v)
    return out
  }
  const out: Record<string, unknown> = Object.create(null)
  for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v)
  return out
}

/** One line of JSON (no newline inside). */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(jsonSafe(value))
}
