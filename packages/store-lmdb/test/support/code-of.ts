import { isAzothError } from '@azothdb/core'

/** The AzothError code a call (or promise) fails with, or 'no error'. */
export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    return isAzothError(e) ? e.code : `not an AzothError: ${String(e)}`
  }
  return 'no error'
}
