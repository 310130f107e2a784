import type { Key, TypedValue } from 'azothdb'
import { jsonSafe } from './json-safe.js'

/** How a key prints: strings as they are, byte keys (not valid UTF-8) as `0x` and hex. */
export function keyText(key: Key): string {
  return typeof key === 'string' ? key : `0x${Buffer.from(key).toString('hex')}`
}

/** A key in JSON output: `{ key }` for a string, `{ keyHex }` for bytes, so neither is mistaken for the other. */
export function keyJson(key: Key): { key: string } | { keyHex: string } {
  return typeof key === 'string' ? { key } : { keyHex: Buffer.from(key).toString('hex') }
}

/** The value of a TypedValue as plain JSON: big integers as decimal strings, bytes as base64. */
export function valueJson(value: TypedValue): unknown {
  switch (value.kind) {
    case 'i64':
    case 'u256':
      return value.asBigInt().toString()
    case 'string':
      return value.asString()
    case 'bytes':
      return jsonSafe(value.asBytes())
    case 'bool':
      return value.asBool()
    case 'f64':
      return jsonSafe(value.asF64())
    case 'set':
      return [...value.asSet()]
    case 'array':
      return [...value.asArray()]
    case 'json':
      return jsonSafe(value.asJson())
  }
}

/** The value of a TypedValue for a table cell: strings quoted (so spaces show), bytes in hex. */
export function valueText(value: TypedValue): string {
  switch (value.kind) {
    case 'i64':
    case 'u256':
      return value.asBigInt().toString()
    case 'string':
      return JSON.stringify(value.asString())
    case 'bytes':
      return `0x${Buffer.from(value.asBytes()).toString('hex')}`
    case 'bool':
      return String(value.asBool())
    case 'f64':
      return String(value.asF64())
    case 'set':
      return `{${value
        .asSet()
        .map((s) => JSON.stringify(s))
        .join(', ')}}`
    case 'array':
      return `[${value
        .asArray()
        .map((s) => JSON.stringify(s))
        .join(', ')}]`
    case 'json':
      return JSON.stringify(jsonSafe(value.asJson()))
  }
}
