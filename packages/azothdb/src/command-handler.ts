import {
  type AnyEvents,
  AzothError,
  type EventOf,
  type ExpectedStreamVersion,
  ExpectedVersionConflictError,
  isAzothError,
  type StreamEventInput,
  type StreamEventOf,
} from '@azothdb/core'
import {
  checkArgument,
  checkArgumentFields,
  checkExpectedVersion,
  type Rule,
  rules,
  streamNameBytes,
  versionMatches,
} from '@azothdb/core/internal'
import type { DatabaseStreams } from './database-streams.js'
import type { AppendToStreamResult } from './streams.js'

/**
 * What a decision appends: one event, several (in order), or none (an empty array); `E` is the
 * database's event map (`defineEvents`).
 */
export type CommandDecision<E = AnyEvents> = StreamEventOf<E> | readonly StreamEventOf<E>[]

/** How `handleCommand` loads a stream's state, and how hard it tries. */
export interface HandleCommandOptions<S, E = AnyEvents> {
  /** Folds one event into the state (the same function `aggregateStream` takes). */
  readonly evolve: (state: S, event: EventOf<E>) => S
  /** The state of a stream without events (a function, so each attempt gets a fresh one). */
  readonly initialState: () => S
  /**
   * How many times a `CONFLICT` (another append to the stream landed between the load and this
   * append) is retried by loading and deciding again; default 3, at most 1,000. Then the
   * `ExpectedVersionConflictError` is thrown.
   */
  readonly maxRetries?: number | undefined
  /**
   * What the stream must be when it is loaded (e.g. the version a client last saw, from an `If-Match`
   * header): otherwise `ExpectedVersionConflictError` before `decide` runs. The append still expects
   * the loaded version; after a conflict the reload is checked again, so a pinned version fails then.
   */
  readonly expectedStreamVersion?: ExpectedStreamVersion | undefined
  /** Passed to `appendToStream` as it is. */
  readonly idempotencyKey?: string | undefined
}

/** What `handleCommand` did. */
export interface HandleCommandResult<S, E = AnyEvents> {
  /** The state after the new events (the loaded state when the decision was empty). */
  readonly newState: S
  /** The events appended, as stored (ids, stream versions, timestamps); empty when none were. */
  readonly newEvents: EventOf<E>[]
  /**
   * The version of the stream's last event now: the expected version of the next append; undefined
   * when the stream still has no event.
   */
  readonly nextExpectedStreamVersion: bigint | undefined
  /** True when this command wrote the stream's first event. */
  readonly createdNewStream: boolean
  /**
   * True when `idempotencyKey` was already used within the window: nothing was appended, and
   * `newEvents`, `newState` and the version are those of the first command with the key.
   */
  readonly duplicate: boolean
}

const anything: Rule<unknown> = { expected: 'anything', test: (v): v is unknown => true }

const OPTION_FIELDS = {
  evolve: rules.function,
  initialState: rules.function,
  maxRetries: rules.nonNegativeInteger,
  expectedStreamVersion: anything,
  idempotencyKey: rules.string,
}

const MAX_RETRIES = 1_000

function decisionEvents(decision: unknown): readonly StreamEventInput[] {
  if (Array.isArray(decision)) return decision as readonly StreamEventInput[]
  if (decision !== null && typeof decision === 'object') return [decision as StreamEventInput]
  throw new AzothError('INVALID_ARGUMENT', 'decide must return an event or an array of events', {
    details: { argument: 'decide' },
  })
}

/**
 * Handles a command on one stream the way an event-sourced application does: loads the stream's
 * state (`aggregateStream`), asks `decide` what happens, and appends its events expecting the
 * version it loaded. When another append lands in between (`CONFLICT`), it loads and decides again,
 * up to `maxRetries` times (no wait: the conflict means that append has committed, so the next load
 * already sees it). `decide` may run more than once, so it should only compute. An error from
 * `decide` or `evolve` passes through unchanged and nothing is written.
 *
 * @example
 * const { newState, nextExpectedStreamVersion } = await handleCommand(
 *   db,
 *   'cart-42',
 *   (cart) => (cart.closed ? [] : { type: 'ItemAdded', data: { sku: 'sku-1', qty: 1 } }),
 *   { evolve, initialState: () => ({ items: 0, closed: false }) },
 * )
 */
export async function handleCommand<S, E = AnyEvents>(
  db: DatabaseStreams<E>,
  stream: string,
  decide: (state: S) => CommandDecision<E> | Promise<CommandDecision<E>>,
  options: HandleCommandOptions<S, E>,
): Promise<HandleCommandResult<S, E>> {
  // The event map types the caller's functions only: the loop itself handles any event.
  return (await handleUntyped(
    db as unknown as DatabaseStreams,
    stream,
    decide as (state: S) => CommandDecision | Promise<CommandDecision>,
    options as unknown as HandleCommandOptions<S>,
  )) as unknown as HandleCommandResult<S, E>
}

async function handleUntyped<S>(
  db: DatabaseStreams,
  stream: string,
  decide: (state: S) => CommandDecision | Promise<CommandDecision>,
  options: HandleCommandOptions<S>,
): Promise<HandleCommandResult<S>> {
  if (db === null || typeof db !== 'object' || typeof db.aggregateStream !== 'function') {
    throw new AzothError('INVALID_ARGUMENT', 'handleCommand needs a database', {
      details: { argument: 'db' },
    })
  }
  streamNameBytes(stream)
  checkArgument('decide', decide, rules.function)
  checkArgument('options', options, rules.object)
  checkArgumentFields('options', options, OPTION_FIELDS)
  if (typeof options.evolve !== 'function' || typeof options.initialState !== 'function') {
    throw new AzothError('INVALID_ARGUMENT', 'handleCommand needs evolve and initialState functions', {
      details: { argument: 'options' },
    })
  }
  const maxRetries = options.maxRetries ?? 3
  if (maxRetries > MAX_RETRIES) {
    throw new AzothError('INVALID_ARGUMENT', `options.maxRetries must be at most ${MAX_RETRIES}`, {
      details: { argument: 'options.maxRetries', value: maxRetries },
    })
  }
  const fixed =
    options.expectedStreamVersion === undefined
      ? undefined
      : checkExpectedVersion(options.expectedStreamVersion)
  const { evolve, initialState, idempotencyKey } = options
  const keyOption = idempotencyKey === undefined ? {} : { idempotencyKey }

  for (let attempt = 0; ; attempt++) {
    const loaded = await db.aggregateStream(stream, { evolve, initialState })
    const current = loaded.streamVersion
    if (fixed !== undefined && !versionMatches(fixed, current)) {
      throw new ExpectedVersionConflictError(stream, fixed, current)
    }
    const events = decisionEvents(await decide(loaded.state))
    if (events.length === 0) {
      return {
        newState: loaded.state,
        newEvents: [],
        nextExpectedStreamVersion: current,
        createdNewStream: false,
        duplicate: false,
      }
    }
    let appended: Awaited<ReturnType<DatabaseStreams['appendToStream']>>
    try {
      appended = await db.appendToStream(stream, events, {
        ...keyOption,
        // The loaded version, also when one was pinned: decide saw that state and no other.
        expectedStreamVersion: current ?? 'no_stream',
      })
    } catch (e) {
      // A pinned version fails the next load's check: retrying cannot make it true again.
      if (attempt < maxRetries && isAzothError(e, 'CONFLICT')) continue
      throw e
    }
    const next = appended.nextExpectedStreamVersion
    if (appended.duplicate) return firstOutcome(db, stream, appended, evolve, initialState)
    // Read back rather than rebuilt from the inputs: evolve sees the events exactly as a later load
    // will (decoded payloads, ids, versions, timestamps), so newState equals the next load's state.
    const from = next - BigInt(events.length) + 1n
    const { events: newEvents } = await db.readStream(stream, { from, to: next })
    let newState = loaded.state
    for (const event of newEvents) newState = evolve(newState, event)
    return {
      newState,
      newEvents,
      nextExpectedStreamVersion: next,
      createdNewStream: appended.createdNewStream,
      duplicate: false,
    }
  }
}

/**
 * What the first command with a duplicate's key returned. This attempt's decision may differ (the
 * state moved on): the first command's events are those of its append (ids from its first to its
 * last), and its state is the stream folded up to them.
 */
async function firstOutcome<S>(
  db: DatabaseStreams,
  stream: string,
  first: AppendToStreamResult,
  evolve: HandleCommandOptions<S>['evolve'],
  initialState: () => S,
): Promise<HandleCommandResult<S>> {
  const { events } = await db.readStream(stream, { to: first.nextExpectedStreamVersion })
  let newState = initialState()
  for (const event of events) newState = evolve(newState, event)
  return {
    newState,
    newEvents: events.filter((e) => e.id >= first.firstEventId),
    nextExpectedStreamVersion: first.nextExpectedStreamVersion,
    createdNewStream: first.createdNewStream,
    duplicate: true,
  }
}
