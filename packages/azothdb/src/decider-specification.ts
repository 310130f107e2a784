import { AzothError, type AzothEvent, type StreamEventInput } from '@azothdb/core'
import type { CommandDecision } from './command-handler.js'
import { asStored, assertEqual, comparable, eventList, failure, show } from './spec-events.js'

/**
 * A decider: what a command does given a stream's state (`decide`), and how events build that
 * state (`evolve` from `initialState`). The same functions serve `handleCommand`
 * (`(state) => decider.decide(command, state)`) and {@link DeciderSpecification}.
 */
export interface Decider<Command, State> {
  /** The events a command produces in a state (none: an empty array); throws to refuse it. Synchronous. */
  decide(command: Command, state: State): CommandDecision
  /** Folds one stored event into the state. */
  evolve(state: State, event: AzothEvent): State
  /** The state of a stream without events. */
  initialState(): State
}

/** The events a specification starts from: `given([...])`, or `given` called directly (Emmett's shape). */
export interface DeciderGiven<Command> {
  /** The stream's events before the command (the same as `.given(events)`). */
  (events?: StreamEventInput | readonly StreamEventInput[]): DeciderWhen<Command>
  /** The stream's events before the command. */
  given(events?: StreamEventInput | readonly StreamEventInput[]): DeciderWhen<Command>
}

/** The command of a specification. */
export interface DeciderWhen<Command> {
  /** The command to decide on the state the given events built. */
  when(command: Command): DeciderThen
}

/** An error class, for `thenThrows(ErrorClass)`. */
export type ErrorClass<E extends Error = Error> = abstract new (...args: never[]) => E

/**
 * The expectation of a specification; each method runs `decide` and throws an `AssertionError`
 * (readable by any test runner, with a diff) when the outcome differs.
 */
export interface DeciderThen {
  /**
   * The command produces exactly these events, in order. Both sides are compared as stored (type,
   * data, and metadata when given): a class instance equals its own fields as a plain object, and
   * `data` left out equals `null`.
   */
  then(expected: StreamEventInput | readonly StreamEventInput[]): void
  /** The command produces no event. */
  thenNothingHappened(): void
  /** `decide` throws an error for which `check` does not return false. */
  thenThrows(check: (error: Error) => unknown): void
  /**
   * `decide` throws: any error, an instance of `errorClass`, and/or one for which `check` does not
   * return false (a `check` may also throw its own assertion error).
   */
  thenThrows<E extends Error = Error>(errorClass?: ErrorClass<E>, check?: (error: E) => unknown): void
}

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'function' && (value === Error || value.prototype instanceof Error)
}

function runDecide<Command, State>(
  decider: Decider<Command, State>,
  given: readonly StreamEventInput[],
  command: Command,
): readonly StreamEventInput[] {
  let state = decider.initialState()
  for (let i = 0; i < given.length; i++) state = decider.evolve(state, asStored(given[i]!, i + 1, BigInt(i)))
  const decision: unknown = decider.decide(command, state)
  if (decision !== null && typeof (decision as PromiseLike<unknown>)?.then === 'function') {
    throw new AzothError('INVALID_ARGUMENT', 'a DeciderSpecification decide must be synchronous', {
      details: { argument: 'decide' },
    })
  }
  return eventList(decision, 'the decision')
}

function stored(events: readonly StreamEventInput[], from: number): unknown[] {
  return events.map((e, i) => comparable(asStored(e, from + i, BigInt(from + i - 1))))
}

function thenFor<Command, State>(
  decider: Decider<Command, State>,
  given: readonly StreamEventInput[],
  command: Command,
): DeciderThen {
  const decided = () => stored(runDecide(decider, given, command), given.length + 1)
  return {
    // Named as in Emmett's specifications, which users bring; a DeciderThen is never awaited.
    // biome-ignore lint/suspicious/noThenProperty: the given/when/then vocabulary
    then(expected) {
      if (typeof expected === 'function') {
        throw new AzothError(
          'INVALID_ARGUMENT',
          'then takes the expected events (a specification is not awaited)',
          {
            details: { argument: 'then' },
          },
        )
      }
      const want = stored(eventList(expected, 'then'), given.length + 1)
      assertEqual('DeciderSpecification: the command decided other events than expected', decided(), want)
    },
    thenNothingHappened() {
      assertEqual('DeciderSpecification: the command decided events, where none were expected', decided(), [])
    },
    thenThrows(classOrCheck?: unknown, check?: (error: never) => unknown) {
      const errorClass = isErrorClass(classOrCheck) ? classOrCheck : undefined
      const predicate = errorClass === undefined ? (classOrCheck as typeof check) : check
      let events: unknown[]
      try {
        events = decided()
      } catch (error) {
        if (errorClass !== undefined && !(error instanceof errorClass)) {
          throw failure(
            `DeciderSpecification: decide threw ${show(error)}, not an instance of ${errorClass.name}`,
            error,
            errorClass,
          )
        }
        if (predicate !== undefined && predicate(error as never) === false) {
          throw failure(
            `DeciderSpecification: decide threw ${show(error)}, which the check refused`,
            error,
            undefined,
          )
        }
        return
      }
      throw failure(
        `DeciderSpecification: decide was expected to throw, but decided ${show(events)}`,
        events,
        errorClass,
      )
    },
  }
}

/**
 * Given/when/then tests of a {@link Decider}, in the shape Emmett's `DeciderSpecification` has: no
 * database, no test runner (a failed expectation throws Node's `AssertionError`). Given events are
 * evolved as a read returns them: encoded and decoded (ids from 1, versions from 0, timestamp 0).
 *
 * @example
 * const given = DeciderSpecification.for({ decide, evolve, initialState })
 * given([{ type: 'ItemAdded', data: { sku: 'a' } }])
 *   .when({ type: 'Checkout' })
 *   .then([{ type: 'CheckedOut' }])
 * given().when({ type: 'Checkout' }).thenThrows((e) => e.message === 'empty cart')
 */
export const DeciderSpecification = {
  /** Starts the specifications of one decider. */
  for<Command, State>(decider: Decider<Command, State>): DeciderGiven<Command> {
    if (
      decider === null ||
      typeof decider !== 'object' ||
      typeof decider.decide !== 'function' ||
      typeof decider.evolve !== 'function' ||
      typeof decider.initialState !== 'function'
    ) {
      throw new AzothError('INVALID_ARGUMENT', 'a decider needs decide, evolve and initialState functions', {
        details: { argument: 'decider' },
      })
    }
    const given = (events: StreamEventInput | readonly StreamEventInput[] = []): DeciderWhen<Command> => {
      const list = eventList(events, 'given')
      return { when: (command) => thenFor(decider, list, command) }
    }
    return Object.assign(given, { given })
  },
} as const
