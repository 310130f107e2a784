import { AzothError, type EventRange } from '@azothdb/core'

function checkBound(name: string, value: number | undefined, allowInfinity: boolean): void {
  if (value === undefined || (allowInfinity && value === Number.POSITIVE_INFINITY)) return
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AzothError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${String(value)}`, {
      details: { field: name, value },
    })
  }
}

/** Event ranges take whole numbers only: `from`, `to`, `limit` (Infinity allowed for `to` and `limit`). */
export function checkRange(range: EventRange): void {
  if (range === null || typeof range !== 'object') {
    throw new AzothError('INVALID_ARGUMENT', 'an event range must be an object like { from, to, limit }')
  }
  checkBound('from', range.from, false)
  checkBound('to', range.to, true)
  checkBound('limit', range.limit, true)
}
