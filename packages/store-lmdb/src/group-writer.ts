import {
  AzothError,
  type CommitResult,
  type Durability,
  type EventId,
  type EventLog,
  isAzothError,
  type Limits,
  type Logger,
} from '@azothdb/core'
import { toError } from '@azothdb/core/internal'
import type { GroupWriter, QueuedTransaction } from './commit-queue.js'
import type { CommitState } from './commit-state.js'
import { buildChunks } from './event-chunks.js'
import { readValue } from './fast-read.js'
import { encodeResult } from './idempotency-result.js'
import type { GroupKeys, IdempotencyTable } from './idempotency-table.js'
import { awaitCommit } from './lmdb-commit.js'
import { headBytes, META_HEAD } from './meta.js'
import type { SpaceReserve } from './space-reserve.js'
import type { StoreDatabases } from './store-databases.js'
import { CommittedStreamHeads } from './stream-head-cache.js'
import { committedStreamHead } from './stream-reads.js'
import { GroupBuffer, UnitContext } from './write-context.js'

/** Streams whose committed heads the writer keeps (a few MiB at most). */
const STREAM_HEADS_KEPT = 10_000

export interface GroupWriterDeps {
  readonly dbs: StoreDatabases
  readonly limits: Limits
  readonly clock: { now(): number }
  readonly logger: Logger
  readonly eventLog: EventLog | undefined
  readonly eventChunkBytes: number
  readonly durability: Durability
  /** Heads and counters: the writer allocates ids from it and reports each answered head to it. */
  readonly commitState: CommitState
  /** Space kept ahead of LMDB's writes (undefined when turned off): a full disk fails a group here. */
  readonly reserve: SpaceReserve | undefined
  /** Idempotency keys (undefined in a read-only store, which never writes). */
  readonly idempotency: IdempotencyTable | undefined
}

/**
 * Builds the function that commits one group: runs each member's function in FIFO order against
 * the latest state (committed state + the group's earlier members), keeps the writes of those that
 * return normally, and writes them all in one LMDB transaction. With an external event log the
 * group's events are appended and synced (in both durability modes) before that transaction commits,
 * so the log never lacks an event LMDB counts, not even after a power loss; on open the log is cut back to LMDB's head. A member whose
 * idempotency key is already stored (committed within the window, or by an earlier member) runs
 * nothing and gets the first commit's result; the keys of the members that ran go into the same
 * LMDB transaction as their writes.
 */
export function groupWriter(deps: GroupWriterDeps): GroupWriter {
  const { dbs, commitState, eventLog } = deps
  const streamHeads = new CommittedStreamHeads(committedStreamHead(dbs), STREAM_HEADS_KEPT)
  const ctx = new UnitContext(
    {
      readCommitted: (key) => readValue(dbs.state, key),
      streamHead: (stream, name) => streamHeads.get(stream, name),
    },
    deps.limits,
  )

  return async (members: QueuedTransaction[]) => {
    const startHead = commitState.allocatedHead
    const group = new GroupBuffer(startHead + 1, deps.clock.now())
    const outcomes = new Array<CommitResult<unknown> | undefined>(members.length)
    const errors = new Array<unknown>(members.length)
    let failures = 0
    let keys: GroupKeys | undefined
    let duplicates = 0
    for (let i = 0; i < members.length; i++) {
      ctx.begin(group)
      try {
        const claim = members[i]!.claim
        if (claim !== undefined) {
          // Checked before the function runs: a duplicate runs nothing and writes nothing.
          const first = deps.idempotency!.find(claim, group.timestamp, keys)
          if (first !== undefined) {
            outcomes[i] = first
            duplicates++
            continue
          }
        }
        const result = members[i]!.fn(ctx)
        if (
          result !== null &&
          typeof result === 'object' &&
          typeof (result as { then?: unknown }).then === 'function'
        ) {
          // Its writes may be half done when the promise is returned: none of them is kept. Its
          // own outcome has no one to go to: observed here, so a rejection is not left unhandled.
          ;(result as PromiseLike<unknown>).then(undefined, () => undefined)
          throw new AzothError(
            'INVALID_ARGUMENT',
            'a write function must be synchronous (it returned a promise)',
          )
        }
        const stored = claim === undefined ? undefined : encodeResult(result)
        const m = ctx.merge()
        const outcome: CommitResult<unknown> = {
          firstEventId: m.firstEventId,
          lastEventId: m.firstEventId === undefined ? undefined : m.firstEventId + m.events - 1,
          eventsWritten: m.events,
          stateKeysWritten: m.written,
          stateKeysDeleted: m.deleted,
          result,
          duplicate: false,
        }
        outcomes[i] = outcome
        if (claim !== undefined) (keys ??= deps.idempotency!.beginGroup()).add(claim, outcome, stored)
      } catch (e) {
        errors[i] = e
        outcomes[i] = undefined
        failures++
      } finally {
        ctx.end()
      }
    }
    commitState.countGroup(members.length, failures)

    const newHead = group.nextEventId - 1
    if (group.overlay.size === 0 && group.events.length === 0 && keys === undefined) {
      commitState.commits += members.length - failures
      if (duplicates === 0 || deps.durability !== 'sync') {
        answer(members, outcomes, errors)
        return { answered: Promise.resolve() }
      }
      // A duplicate's first commit may be in the previous group, committed but not yet on disk: the
      // duplicate is acknowledged no sooner than the commit it stands for.
      return { answered: answerWhenDurable(deps, members, outcomes, errors, undefined) }
    }
    let reachedLmdb = false
    try {
      if (deps.reserve !== undefined) {
        // The same estimate without its page counts is the group's own bytes.
        const data = estimateBytes(group, keys, 0)
        deps.reserve.ensure(estimateBytes(group, keys, deps.reserve.pageSize) - data, data)
      }
      if (eventLog !== undefined && group.events.length > 0) {
        eventLog.append(startHead + 1, group.events)
        // Synced in 'relaxed' mode too: the OS may write LMDB's pages back to disk at any moment,
        // so after a power loss its head could count events that a log merely handed to the OS
        // lost, and the database would no longer open (CORRUPTION), where 'relaxed' promises to
        // lose only the last commits.
        await eventLog.sync()
      }
      reachedLmdb = true
      const commits = new Set<Promise<boolean>>()
      if (keys !== undefined) deps.idempotency!.write(keys, group.timestamp, commits)
      await writeGroup(dbs, group, startHead, newHead, eventLog !== undefined, deps.eventChunkBytes, commits)
      group.streams.forEachWritten(streamHeads.keep)
      commitState.lmdbCommitFailed = false
      if (keys !== undefined) deps.idempotency!.committed(keys)
    } catch (e) {
      if (reachedLmdb) commitState.lmdbCommitFailed = true
      await failGroup(deps, members, failures, startHead, group.events.length > 0, e)
      return { answered: Promise.resolve() }
    }
    commitState.allocatedHead = newHead
    commitState.commits += members.length - failures
    commitState.eventsAppended += group.events.length
    // The next group may start now; this one's callers hear back once it is durable.
    return { answered: answerWhenDurable(deps, members, outcomes, errors, newHead) }
  }
}

/** Answers the members once what LMDB committed last is durable; `head` is then the readers' head. */
function answerWhenDurable(
  deps: GroupWriterDeps,
  members: QueuedTransaction[],
  outcomes: (CommitResult<unknown> | undefined)[],
  errors: unknown[],
  head: EventId | undefined,
): Promise<void> {
  const durable: PromiseLike<unknown> = deps.durability === 'sync' ? deps.dbs.env.flushed : Promise.resolve()
  return Promise.resolve(durable).then(
    () => {
      answer(members, outcomes, errors)
      if (head !== undefined) deps.commitState.answered(head)
    },
    (e: unknown) => {
      const error = new AzothError('IO', 'the commit could not be flushed to disk', { cause: e })
      deps.logger.error({ err: error }, 'flush failed')
      for (const m of members) m.reject(error)
    },
  )
}

/**
 * Queues the group's writes as lmdb-js asynchronous writes, all in one synchronous run: lmdb-js
 * puts every write of one event turn into the same LMDB transaction (`eventTurnBatching`, on by
 * default; nothing else writes to this environment after open), and its write thread executes them
 * while this thread goes on, with no round trip to run a transaction callback here. Measured on a
 * group of 256 puts: 0.55 ms against 0.63-0.71 ms for `env.transaction(() => putSync...)`.
 * Resolves once that transaction is committed; rejects if it failed (then none of it was written).
 *
 * lmdb-js hands the transaction to a libuv pool thread when the event turn ends (`startWriting`:
 * 20-30 µs of this thread's CPU, whatever the group's size). With no idle core, the woken pool
 * thread preempts this one at that hand-off and runs the whole transaction first, so a profile
 * shows `startWriting` taking 0.2-0.8 ms for groups of 64-256 members: CPU the commit needs anyway,
 * not a lock or a sync on this thread (measured with perf and /proc scheduler counters).
 */
function writeGroup(
  dbs: StoreDatabases,
  group: GroupBuffer,
  startHead: EventId,
  newHead: EventId,
  externalLog: boolean,
  chunkBytes: number,
  commits: Set<Promise<boolean>>,
): Promise<unknown> {
  // Unconditional writes of one batch share lmdb-js's commit promise; keep any other one too, so
  // a failed transaction is awaited (and handled) through every promise it rejects.
  for (const w of group.overlay.values()) {
    commits.add(w.value === null ? dbs.state.remove(w.key) : dbs.state.put(w.key, w.value))
  }
  if (group.events.length > 0) {
    if (!externalLog) {
      for (const [key, value] of buildChunks(startHead + 1, group.events, chunkBytes)) {
        commits.add(dbs.events.put(key, value))
      }
    } else commits.add(dbs.meta.put(META_HEAD, headBytes(newHead)))
    if (dbs.streams !== undefined) group.streams.write(dbs.streams.index, dbs.streams.heads, commits)
  }
  return awaitCommit(dbs.env, commits)
}

/**
 * An upper estimate of what the group makes LMDB write: a page per written or deleted key (the leaf
 * it copies), the keys and values themselves (large values take overflow pages), the events, and
 * the stream index.
 */
function estimateBytes(group: GroupBuffer, keys: GroupKeys | undefined, pageSize: number): number {
  let bytes = keys?.estimateBytes(pageSize) ?? 0
  for (const w of group.overlay.values()) bytes += pageSize + w.key.length + (w.value?.length ?? 0)
  for (const e of group.events) bytes += e.length
  bytes += group.streams.estimateBytes(pageSize)
  return bytes + (group.events.length > 0 ? pageSize : 0)
}

async function failGroup(
  deps: GroupWriterDeps,
  members: QueuedTransaction[],
  alreadyFailed: number,
  startHead: EventId,
  hadEvents: boolean,
  cause: unknown,
): Promise<void> {
  // The errno of a failed LMDB commit (awaitCommit) stays in the details: disk full is recognisable.
  const details = isAzothError(cause, 'IO') ? cause.details : undefined
  const error = new AzothError('IO', 'the group commit failed; none of its transactions was written', {
    cause,
    ...(details === undefined ? {} : { details }),
  })
  deps.logger.error({ err: toError(cause), members: members.length }, 'group commit failed')
  deps.commitState.failedCommits += members.length - alreadyFailed
  if (deps.eventLog !== undefined && hadEvents) {
    try {
      await deps.eventLog.truncateAfter(startHead)
    } catch (e) {
      deps.logger.error({ err: toError(e) }, 'could not cut the event log back after a failed commit')
    }
  }
  for (const m of members) m.reject(error)
}

function answer(
  members: QueuedTransaction[],
  outcomes: (CommitResult<unknown> | undefined)[],
  errors: unknown[],
): void {
  for (let i = 0; i < members.length; i++) {
    const outcome = outcomes[i]
    if (outcome !== undefined) members[i]!.resolve(outcome)
    else members[i]!.reject(errors[i])
  }
}
