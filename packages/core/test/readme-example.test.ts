import {
  decodeEvent,
  decodeTypedValue,
  encodeEnvelope,
  encodeTypedValue,
  isAzothError,
  TypedValue,
} from '@azothdb/core'
import { expect, it } from 'vitest'

// The example of README.md, kept honest.
it('the README example runs as described', () => {
  const balance = TypedValue.i64(100n)
  expect(balance.asI64()).toBe(100n)
  let code: string | undefined
  try {
    balance.asString()
  } catch (e) {
    if (!isAzothError(e, 'TYPE_MISMATCH')) throw e
    code = e.code
  }
  expect(code).toBe('TYPE_MISMATCH')
  expect(decodeTypedValue(encodeTypedValue(balance)).equals(balance)).toBe(true)

  const bytes = encodeEnvelope({ type: 'Deposited', timestamp: Date.now(), payload: { amount: 5 } })
  expect(decodeEvent(1, bytes).payload).toEqual({ amount: 5 })
})
