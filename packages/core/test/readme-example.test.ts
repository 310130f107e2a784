import { decodeEvent, encodeEnvelope, isAzothError, TypedValue } from '@azothdb/core'
import { StripeLockManager } from '@azothdb/core/internal'
import { expect, it } from 'vitest'

// The example of README.md, kept honest.
it('the README example runs as described', async () => {
  const balance = TypedValue.i64(100n)
  expect(balance.asI64()).toBe(100n)
  expect(() => balance.asString()).toThrow(expect.objectContaining({ code: 'TYPE_MISMATCH' }))

  const bytes = encodeEnvelope({ type: 'Deposited', timestamp: Date.now(), payload: { amount: 5 } })
  expect(decodeEvent(1, bytes).payload).toEqual({ amount: 5 })

  const locks = new StripeLockManager({ stripes: 256, timeoutMs: 1000 })
  let ran = false
  try {
    await locks.withLocks(['alice', 'bob'], ['rates'], async () => {
      ran = true
    })
  } catch (e) {
    if (!isAzothError(e, 'LOCK_TIMEOUT')) throw e
  }
  expect(ran).toBe(true)
  expect(locks.stats().held).toBe(0)
})
