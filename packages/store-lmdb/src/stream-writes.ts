import { type EventId, type ExpectedStreamVersion, ExpectedVersionConflictError } from '@azothdb/core'
import { checkExpectedVersion, streamNameBytes, versionMatches } from '@azothdb/core/internal'
import type { Database } from 'lmdb'
import type { CommittedStreamReader } from './stream-head-cache.js'
import { addRun, type StreamRun, streamWrites, type WriterHead } from './stream-runs.js'

/** A stream's latest state inside the writer: its committed head and the group's runs after it. */
interface StreamTip {
  readonly name: Uint8Array
  readonly committed: WriterHead | undefined
  /** The group's appends to the stream, oldest first. */
  readonly runs: StreamRun[]
  /** The version of its last event. */
  version: bigint
  /** The head the group writes (set by `write`). */
  written: WriterHead | undefined
}

/** An append of one transaction: `count` events of `stream` from `version`, its events from `at`. */
interface PendingAppend {
  readonly stream: string
  readonly name: Uint8Array
  /** The stream's committed head when the append was planned (the writer's copy, unchanged until the group commits). */
  readonly committed: WriterHead | undefined
  readonly version: bigint
  readonly count: number
  /** Index of the first of these events among the transaction's events. */
  readonly at: number
}

/**
 * The stream appends of one group's successful members, visible to later members, and what the
 * group writes to the stream index: each stream's new head, with the group's runs in its open
 * block, and an index entry for a stream whose block overflows.
 */
export class GroupStreams {
  readonly tips = new Map<string, StreamTip>()

  /**
   * An upper estimate of what the index writes add to the group (for the space reserve): each
   * stream touches a leaf page in each of the two databases, plus its head's and entry's bytes.
   */
  estimateBytes(pageSize: number): number {
    let bytes = 2 * pageSize * this.tips.size
    for (const tip of this.tips.values())
      bytes += 2 * tip.name.length + 48 + 24 * ((tip.committed?.runs.length ?? 0) / 2 + tip.runs.length)
    return bytes
  }

  /** Queues the group's index writes (same LMDB transaction as its events). */
  write(
    index: Database<Uint8Array, Uint8Array>,
    heads: Database<Uint8Array, Uint8Array>,
    commits: Set<Promise<boolean>>,
  ): void {
    for (const tip of this.tips.values()) {
      const writes = streamWrites(tip.name, tip.committed, tip.runs)
      if (writes.entry !== undefined) commits.add(index.put(writes.entry[0], writes.entry[1]))
      commits.add(heads.put(tip.name, writes.value))
      tip.written = writes.head
    }
  }

  /** Hands each stream's head as the group wrote it (once `write` ran) to `keep`. */
  forEachWritten(keep: (stream: string, head: WriterHead) => void): void {
    for (const [stream, tip] of this.tips) if (tip.written !== undefined) keep(stream, tip.written)
  }
}

/**
 * The stream appends of the transaction running in the writer: checks expected versions against
 * the latest state (this transaction's own appends, then the group's earlier members, then LMDB),
 * and hands its appends to the group if it returns normally. Reused across transactions.
 */
export class TxStreams {
  #appends: PendingAppend[] | undefined
  #group!: GroupStreams
  // What the last `plan` found, for the `record` that follows it: kept here rather than returned
  // in an object, so an append allocates none for it.
  #name: Uint8Array = new Uint8Array(0)
  #committed: WriterHead | undefined

  constructor(private readonly committed: CommittedStreamReader) {}

  begin(group: GroupStreams): void {
    this.#group = group
    this.#appends = undefined
  }

  /**
   * The stream's current version (this transaction's own appends, then the group's earlier
   * members, then LMDB); sets `#name` and `#committed`. Only a valid name can be found in the
   * first two (Map keys compare by value and type), so only the third checks it.
   */
  #current(stream: string): bigint | undefined {
    const appends = this.#appends
    if (appends !== undefined) {
      for (let i = appends.length - 1; i >= 0; i--) {
        const a = appends[i]!
        if (a.stream === stream) {
          this.#name = a.name
          this.#committed = a.committed
          return a.count === 1 ? a.version : a.version + BigInt(a.count - 1)
        }
      }
    }
    const tip = this.#group.tips.get(stream)
    if (tip !== undefined) {
      this.#name = tip.name
      this.#committed = tip.committed
      return tip.version
    }
    const name = streamNameBytes(stream)
    const head = this.committed(stream, name)
    this.#name = name
    this.#committed = head
    return head?.version
  }

  /**
   * Checks an append to `stream` against what it expects; returns the version of the stream's
   * last event (undefined: no stream), from which its first event follows. Records nothing (see
   * `record`, which must follow for the same stream).
   */
  plan(stream: string, expected: ExpectedStreamVersion | undefined): bigint | undefined {
    // Checks the name first (a stream the group or this transaction appended to has a checked one).
    const actual = this.#current(stream)
    const want = checkExpectedVersion(expected)
    if (!versionMatches(want, actual)) throw new ExpectedVersionConflictError(stream, want, actual)
    return actual
  }

  /** Records the append planned last once its events were accepted: they are the transaction's from `at`. */
  record(stream: string, first: bigint, count: number, at: number): void {
    ;(this.#appends ??= []).push({
      stream,
      name: this.#name,
      committed: this.#committed,
      version: first,
      count,
      at,
    })
  }

  /** Moves the transaction's appends into the group; its first event got `firstEventId`. */
  merge(firstEventId: EventId | undefined): void {
    const appends = this.#appends
    if (appends === undefined || firstEventId === undefined) return
    const group = this.#group
    for (const a of appends) {
      const id = firstEventId + a.at
      let tip = group.tips.get(a.stream)
      if (tip === undefined) {
        // The stream's first append in this group: its committed head, unchanged until the group
        // commits (the writer's copies are updated only then).
        tip = { name: a.name, committed: a.committed, runs: [], version: 0n, written: undefined }
        group.tips.set(a.stream, tip)
      }
      addRun(tip.runs, a.version, id, a.count)
      tip.version = a.count === 1 ? a.version : a.version + BigInt(a.count - 1)
    }
  }
}
