import type { Clock, Logger } from '@azothdb/core'
import { checkInteger, checkKnownFields, checkNumber } from '@azothdb/core/internal'

/** Options of the projector's circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failed events that open the circuit. Default 5. */
  readonly failureThreshold?: number
  /** How long the circuit stays open before trial events are let through. Default 30,000 ms. */
  readonly resetTimeoutMs?: number
  /** Trial events in half-open state; all must succeed to close the circuit. Default 1. */
  readonly halfOpenMaxCalls?: number
  /** Which errors count (for example only an external dependency's). Default: every error. */
  readonly isFailure?: (error: Error) => boolean
}

/** `closed`: events flow. `open`: the projector pauses. `halfOpen`: a few trial events may pass. */
export type CircuitState = 'closed' | 'open' | 'halfOpen'

/**
 * Pauses a projector whose handlers keep failing (an external dependency is down) instead of
 * dead-lettering or skipping every event meanwhile. Time comes from the projector's clock.
 */
export class CircuitBreaker {
  private readonly threshold: number
  private readonly resetMs: number
  private readonly trials: number
  private readonly counts: (error: Error) => boolean
  private consecutive = 0
  private openedAt: number | undefined
  private trialSuccesses = 0
  private trialsStarted = 0
  /** The state last logged: `open` turns `halfOpen` by time alone, and is logged when first seen. */
  private logged: CircuitState = 'closed'
  /** How many times the circuit opened. */
  opens = 0

  constructor(
    options: CircuitBreakerOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    checkKnownFields('circuitBreaker', options, [
      'failureThreshold',
      'resetTimeoutMs',
      'halfOpenMaxCalls',
      'isFailure',
    ])
    this.threshold = checkInteger('failureThreshold', options.failureThreshold ?? 5, 1)
    this.resetMs = checkNumber('resetTimeoutMs', options.resetTimeoutMs ?? 30_000, 0)
    this.trials = checkInteger('halfOpenMaxCalls', options.halfOpenMaxCalls ?? 1, 1)
    this.counts = options.isFailure ?? (() => true)
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed'
    return this.clock.now() >= this.openedAt + this.resetMs ? 'halfOpen' : 'open'
  }

  /** Milliseconds until an open circuit turns half-open (0 when not open). */
  remainingOpenMs(): number {
    if (this.openedAt === undefined) return 0
    return Math.max(0, this.openedAt + this.resetMs - this.clock.now())
  }

  /** How many events may be tried now: unlimited when closed, the remaining trials when half-open. */
  permits(): number {
    const s = this.state
    if (s === 'halfOpen' && this.logged === 'open') {
      this.logged = 'halfOpen'
      this.logger.info({ trials: this.trials }, 'circuit half-open; trying events')
    }
    if (s === 'closed') return Number.POSITIVE_INFINITY
    if (s === 'open') return 0
    return Math.max(0, this.trials - this.trialsStarted)
  }

  /** Call before each trial event in half-open state. */
  onAttempt(): void {
    if (this.openedAt !== undefined) this.trialsStarted++
  }

  onSuccess(): void {
    this.consecutive = 0
    if (this.openedAt !== undefined && ++this.trialSuccesses >= this.trials) this.close()
  }

  /**
   * Records a failure; true when the circuit is (now) open and the event must wait. An error that
   * does not count says nothing of the dependency: in half-open state the trial it used is given
   * back, so the next event becomes the trial (the permit would otherwise be gone for good, with
   * neither a success to close the circuit nor a failure to reopen it).
   */
  onFailure(error: Error): boolean {
    if (!this.counts(error)) {
      if (this.openedAt !== undefined && this.trialsStarted > 0) this.trialsStarted--
      return false
    }
    if (this.openedAt !== undefined || ++this.consecutive >= this.threshold) {
      this.trip(error)
      return true
    }
    return false
  }

  private trip(error: Error): void {
    const reopened = this.openedAt !== undefined
    this.openedAt = this.clock.now()
    this.trialSuccesses = 0
    this.trialsStarted = 0
    this.opens++
    this.logged = 'open'
    this.logger.warn(
      { err: error, opens: this.opens, resetTimeoutMs: this.resetMs, failedTrial: reopened },
      'circuit opened; projector pauses',
    )
  }

  private close(): void {
    this.openedAt = undefined
    this.consecutive = 0
    this.logged = 'closed'
    this.logger.info({ opens: this.opens }, 'circuit closed; projector resumes')
  }
}
