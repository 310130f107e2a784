import type { EventId } from './ids.js'

/** What kind of damage a verify found. */
export type VerifyProblemKind =
  /** A state value's checksum does not match its key and bytes. */
  | 'value-checksum'
  /** A state value's checksum matches but its bytes are no TypedValue (written damaged). */
  | 'value-encoding'
  /** LMDB counts more or fewer state entries than a walk of its tree finds (a damaged page). */
  | 'entry-count'
  /** An event's checksum does not match its id and bytes. */
  | 'event-checksum'
  /** An event chunk whose header cannot be parsed: its events cannot be located. */
  | 'event-chunk'
  /** Event ids are not gapless from 1 to the head. */
  | 'event-gap'
  /** A database or log that cannot be walked at all from some point on (LMDB's own error). */
  | 'unreadable'
  /** A projection cursor beyond the head of the event log. */
  | 'cursor'
  /** A dead letter naming an event that is not stored. */
  | 'dead-letter'
  /** The projection store's own structure is damaged (SQLite's `quick_check`). */
  | 'projection'
  /** An idempotency key's stored record or order entry fails its checksum or does not decode. */
  | 'idempotency'
  /**
   * The stream index disagrees with the events: a gap in a stream's versions, an entry naming an
   * event that is not that version of that stream, or a stream head (checksummed) that is not its last entry.
   */
  | 'stream-index'

/** One thing found damaged: what, where, and how much. */
export interface VerifyProblem {
  /** What kind of damage (see {@link VerifyProblemKind}). */
  readonly kind: VerifyProblemKind
  /** Where, for people: `key "acct-7"`, `event 42`, `events from 40`, `projector "balances"`. */
  readonly where: string
  /** What was found, with the numbers (expected and actual checksums, ids, counts). */
  readonly detail: string
  /** The damaged key (as `keyToString` shows it: UTF-8 or 0x-hex), when one is named. */
  readonly key?: string
  /** The damaged event's id, when one is named. */
  readonly eventId?: EventId
}

/** What `verify()` walked and found. */
export interface VerifyReport {
  /** True when no problem was found. */
  readonly ok: boolean
  /** The problems found, in the order found; at most 1,000 (see `problemsOmitted`). */
  readonly problems: readonly VerifyProblem[]
  /** Problems found beyond those listed. */
  readonly problemsOmitted: number
  /** How much was checked. */
  readonly checked: VerifyCounts
}

/** Counts of what a verify checked. */
export interface VerifyCounts {
  /** State entries whose checksum was checked. */
  readonly keys: number
  /** Events whose checksum was checked (in LMDB or in the external event log). */
  readonly events: number
  /** The head the event walk went up to. */
  readonly head: EventId
  /** Entries of the idempotency table checked (records and their order entries). */
  readonly idempotencyEntries?: number
  /** Stream events checked through the stream index against the envelopes they name. */
  readonly streamEvents?: number
  /** Projection cursors checked (the facade's verify only). */
  readonly cursors?: number
  /** Dead letters checked (the facade's verify only). */
  readonly deadLetters?: number
  /** Whether the projection store's own structure was checked (the facade's verify only). */
  readonly projection?: boolean
}

const MAX_LISTED = 1000

/** Collects problems, listing the first 1,000 and counting the rest. */
export class ProblemList {
  readonly listed: VerifyProblem[] = []
  omitted = 0

  add(problem: VerifyProblem): void {
    if (this.listed.length < MAX_LISTED) this.listed.push(problem)
    else this.omitted++
  }

  get size(): number {
    return this.listed.length + this.omitted
  }

  report(checked: VerifyCounts): VerifyReport {
    return { ok: this.size === 0, problems: this.listed, problemsOmitted: this.omitted, checked }
  }
}
