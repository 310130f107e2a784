import { type AzothError, ConflictError, type EventId, isAzothError } from '@azothdb/core'

/**
 * Checks, inside the batch's transaction, that the stored cursor is where this projector believes
 * it is. Another instance of the same projector (another process, or a second object) may have
 * moved it: the batch must not be applied twice, so it raises `CONFLICT` and the caller follows.
 */
export function checkCursor(projector: string, stored: EventId, first: EventId): void {
  if (stored !== first - 1) {
    throw new ConflictError(`cursor of '${projector}' moved to ${stored} under this projector`, {
      details: { projector, stored },
    })
  }
}

/** True for the error {@link checkCursor} raises for `projector`. */
export function isCursorMoved(e: unknown, projector: string): e is AzothError {
  return isAzothError(e, 'CONFLICT') && e.details?.['projector'] === projector
}
