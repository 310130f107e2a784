import { AzothError, type Key, type TypedValue } from '@azothdb/core'
import { keyToString } from '@azothdb/core/internal'

/** The value of a `get` that must find one: raises `NOT_FOUND` naming the key otherwise. */
export function requiredValue(key: Key, value: TypedValue | undefined): TypedValue {
  if (value === undefined) {
    throw new AzothError('NOT_FOUND', `key '${keyToString(key)}' has no value`, {
      details: { key: keyToString(key) },
    })
  }
  return value
}
