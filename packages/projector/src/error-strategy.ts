import type { EventId } from '@azothdb/core'
import { type AzothEvent, ConfigError } from '@azothdb/core'
import { checkInteger, checkKnownFields, checkNumber, checkOneOf } from '@azothdb/core/internal'

/** What the projector knows about a failed event when it asks the strategy what to do. */
export interface FailureContext {
  /** Name of the projector whose handler failed. */
  readonly projector: string
  /** What the handler threw (non-errors are wrapped in an Error). */
  readonly error: Error
  /** Id of the failing event. */
  readonly eventId: EventId
  /** Type of the failing event, so a strategy can treat some types differently. */
  readonly eventType: string
  /** The decoded event, or undefined when decoding itself failed (corrupt bytes). */
  readonly event: AzothEvent | undefined
  /** Failed attempts of this event so far, this one included (1 on the first failure). */
  readonly attempt: number
}

/** The strategy's answer. `retry` re-applies the event after `delayMs` of the projector's clock. */
export type FailureDecision =
  | {
      /** Stop the projector with `PROJECTION_FAILED`; the events before this one stay committed. */
      readonly action: 'fail'
    }
  | {
      /** Move the cursor past the event without applying it. */
      readonly action: 'skip'
    }
  | {
      /** Park the event in the dead-letter queue and move past it. */
      readonly action: 'deadLetter'
    }
  | {
      /** Re-apply the event after a wait. */
      readonly action: 'retry'
      /** The wait before the retry, in milliseconds of the projector's clock (finite, ≥ 0). */
      readonly delayMs: number
    }

/** Decides what happens to an event whose handler threw. */
export interface ErrorStrategy {
  /** Name for logs and metrics (`'failFast'`, `'retryWithBackoff'`, or the name given to `custom`). */
  readonly name: string
  /** Called on each failure; must be synchronous and return a valid decision (else `CONFIG`). */
  decide(failure: FailureContext): FailureDecision
}

/** Options of {@link ErrorStrategy.retryWithBackoff}. */
export interface RetryWithBackoffOptions {
  /** Retries after the first failure. Default 3. */
  readonly maxRetries?: number
  /** Delay before the first retry. Default 100 ms. */
  readonly initialDelayMs?: number
  /** Cap of the delay. Default 10,000 ms. */
  readonly maxDelayMs?: number
  /** Growth of the delay per retry. Default 2. */
  readonly multiplier?: number
  /** What happens when the retries are spent. Default `'deadLetter'`. */
  readonly onExhausted?: 'deadLetter' | 'fail'
}

const FAIL: FailureDecision = Object.freeze({ action: 'fail' })
const SKIP: FailureDecision = Object.freeze({ action: 'skip' })
const DEAD_LETTER: FailureDecision = Object.freeze({ action: 'deadLetter' })

/** The delay before retry number `attempt` (1-based): `initial × multiplier^(attempt-1)`, capped. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, multiplier: number): number {
  return Math.min(maxMs, Math.round(initialMs * multiplier ** (attempt - 1)))
}

/**
 * The built-in error strategies.
 *
 * - `failFast()`: the projector stops at the failing event (the events before it are committed)
 *   and reports `PROJECTION_FAILED`. The default.
 * - `logAndSkip()`: logs, counts, and moves the cursor past the event.
 * - `deadLetter()`: parks the event in the dead-letter queue, in the transaction that moves the
 *   cursor past it.
 * - `retryWithBackoff(options)`: commits the events before it, waits (on the projector's clock) and
 *   re-applies it, up to `maxRetries` times; then dead-letters it or fails.
 * - `custom(fn)`: `fn` returns a {@link FailureDecision}.
 */
export const ErrorStrategy = {
  /**
   * Stop the projector at the failing event with `PROJECTION_FAILED` (the default): use when every event
   * must apply.
   */
  failFast(): ErrorStrategy {
    return { name: 'failFast', decide: () => FAIL }
  },
  /** Log, count in `skipped`, and move past the event: for projections where a missed event is harmless. */
  logAndSkip(): ErrorStrategy {
    return { name: 'logAndSkip', decide: () => SKIP }
  },
  /** Park the event in the dead-letter queue and move on; replay it later (automatically or by hand). */
  deadLetter(): ErrorStrategy {
    return { name: 'deadLetter', decide: () => DEAD_LETTER }
  },
  /**
   * Retry transient failures with exponential backoff, then dead-letter (or fail); bad options raise
   * `CONFIG`.
   */
  retryWithBackoff(options: RetryWithBackoffOptions = {}): ErrorStrategy {
    checkKnownFields('retryWithBackoff', options, [
      'maxRetries',
      'initialDelayMs',
      'maxDelayMs',
      'multiplier',
      'onExhausted',
    ])
    const maxRetries = checkInteger('maxRetries', options.maxRetries ?? 3, 0, 1_000)
    const initial = checkNumber('initialDelayMs', options.initialDelayMs ?? 100, 0)
    const max = checkNumber('maxDelayMs', options.maxDelayMs ?? Math.max(10_000, initial), initial)
    const multiplier = checkNumber('multiplier', options.multiplier ?? 2, 1)
    const exhausted = checkOneOf('onExhausted', options.onExhausted ?? 'deadLetter', ['deadLetter', 'fail'])
    const onExhausted = exhausted === 'fail' ? FAIL : DEAD_LETTER
    return {
      name: 'retryWithBackoff',
      decide: ({ attempt }) =>
        attempt > maxRetries
          ? onExhausted
          : { action: 'retry', delayMs: backoffDelay(attempt, initial, max, multiplier) },
    }
  },
  /**
   * Your own decision per failure, e.g. retry network errors and skip validation errors; `CONFIG` if
   * `decide` is not a function.
   */
  custom(decide: (failure: FailureContext) => FailureDecision, name = 'custom'): ErrorStrategy {
    if (typeof decide !== 'function') throw new ConfigError('custom error strategy needs a function')
    return { name, decide }
  },
} as const

/** Checks a decision from a custom strategy; anything else is a configuration error. */
export function checkDecision(d: unknown): FailureDecision {
  const action = (d as { action?: unknown } | null)?.action
  if (action === 'fail' || action === 'skip' || action === 'deadLetter') return d as FailureDecision
  if (action === 'retry') {
    const delay = (d as { delayMs?: unknown }).delayMs
    if (typeof delay === 'number' && delay >= 0 && Number.isFinite(delay)) return d as FailureDecision
  }
  throw new ConfigError(`error strategy returned an invalid decision: ${JSON.stringify(d)}`)
}
