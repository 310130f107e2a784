import { AzothError, type ExpectedStreamVersion, type StreamEventInput } from '@azothdb/core'
import { checkExpectedVersion } from '@azothdb/core/internal'
import type { AppendToStreamOptions, AppendToStreamResult } from './streams.js'
import type { Transaction } from './transaction.js'

/** The expected version in `options` (default `'any'`); `INVALID_ARGUMENT` for anything else. */
export function expectedVersionOf(options: AppendToStreamOptions | undefined): ExpectedStreamVersion {
  if (options === undefined) return 'any'
  if (options === null || typeof options !== 'object') {
    throw new AzothError('INVALID_ARGUMENT', 'appendToStream options must be an object', {})
  }
  return checkExpectedVersion(options.expectedStreamVersion)
}

/** Appends to one stream in a transaction of its own, which declares (and locks) the stream. */
export async function appendInTransaction(
  tx: Transaction,
  stream: string,
  events: readonly StreamEventInput[],
  options: AppendToStreamOptions | undefined,
): Promise<AppendToStreamResult> {
  const expectedStreamVersion = expectedVersionOf(options)
  const info = await tx
    .streams([stream])
    .execute((ctx) => ctx.appendToStream(stream, events, { expectedStreamVersion }))
  return {
    nextExpectedStreamVersion: info.result.nextExpectedStreamVersion,
    // An append writes at least one event (an empty one is refused), so the commit has a last id.
    lastEventId: info.lastEventId as number,
    createdNewStream: info.result.createdNewStream,
  }
}
