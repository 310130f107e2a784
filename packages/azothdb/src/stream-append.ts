import {
  AzothError,
  type CommitResult,
  type ExpectedStreamVersion,
  type StreamAppendOutcome,
  type StreamEventInput,
} from '@azothdb/core'
import { checkExpectedVersion, streamNameBytes } from '@azothdb/core/internal'
import type { AppendToStreamOptions, AppendToStreamResult } from './streams.js'
import type { WritePath } from './write-path.js'

/**
 * The expected version in `options` (default `'any'`); `INVALID_ARGUMENT` for anything else. An
 * idempotency key is for an append in a commit of its own (`allowKey`): inside a transaction the
 * transaction is the request a retry repeats, so its key goes on the transaction.
 */
export function expectedVersionOf(
  options: AppendToStreamOptions | undefined,
  allowKey = false,
): ExpectedStreamVersion {
  if (options === undefined) return 'any'
  if (options === null || typeof options !== 'object') {
    throw new AzothError('INVALID_ARGUMENT', 'appendToStream options must be an object', {})
  }
  // An append's key itself is checked by the store's commit, before anything is queued.
  if (options.idempotencyKey !== undefined && !allowKey) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      'tx.appendToStream takes no idempotencyKey: set it on the transaction (transaction().idempotencyKey(key))',
      { details: { argument: 'idempotencyKey' } },
    )
  }
  return checkExpectedVersion(options.expectedStreamVersion)
}

/**
 * Appends to one stream in a commit of its own. It takes no stripe lock: with no preflight there
 * is nothing for a lock to protect (the writer checks the expected version), and unlocked appends
 * to one stream can share a group commit, where the group's earlier appends decide the later ones.
 * Not an async function: callers woken by one group's acknowledgement come back through it, and
 * each async layer costs them promises and microtask turns before they reach the next group (a
 * bad argument still rejects, never throws).
 */
export function appendAlone(
  write: WritePath,
  stream: string,
  events: readonly StreamEventInput[],
  options: AppendToStreamOptions | undefined,
): Promise<AppendToStreamResult> {
  let expected: ExpectedStreamVersion
  let key: string | undefined
  try {
    streamNameBytes(stream)
    expected = expectedVersionOf(options, true)
    // Read in here too: options are the caller's object, and a getter may throw on any read.
    key = options?.idempotencyKey
  } catch (e) {
    return Promise.reject(e)
  }
  const started = performance.now()
  return write
    .commitUnlocked(
      (ctx) => ctx.appendToStream(stream, events, expected),
      // The stream is the operation: the same key on another stream is another request.
      key === undefined ? undefined : { idempotencyKey: key, operation: `appendToStream:${stream}` },
    )
    .then(
      (info: CommitResult<StreamAppendOutcome>) => {
        write.recordCommit(performance.now() - started)
        return {
          nextExpectedStreamVersion: info.result.nextExpectedStreamVersion,
          // An append writes at least one event (an empty one is refused), so the commit has both ids.
          firstEventId: info.firstEventId as number,
          lastEventId: info.lastEventId as number,
          createdNewStream: info.result.createdNewStream,
          duplicate: info.duplicate,
        }
      },
      (e: unknown) => {
        // Counted with the transactions' outcomes, so metrics show stream conflicts too.
        write.recordFailure(e)
        throw e
      },
    )
}
