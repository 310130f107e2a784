import { type EventId, type ExpectedStreamVersion, ExpectedVersionConflictError } from '@azothdb/core'
import { checkExpectedVersion, streamNameBytes, versionMatches } from '@azothdb/core/internal'
import type { Database } from 'lmdb'
import { headValue, indexKey, indexValue } from './stream-index.js'

/** A stream's latest state inside the writer: its name's bytes, last version and that event's id. */
interface StreamTip {
  readonly name: Uint8Array
  version: bigint
  id: EventId
}

/** An append of one transaction: `count` events of `stream` from `version`, its events from `at`. */
interface PendingAppend {
  readonly stream: string
  readonly name: Uint8Array
  readonly version: bigint
  readonly count: number
  /** Index of the first of these events among the transaction's events. */
  readonly at: number
}

/** The version of a stream's last committed event, read from LMDB (undefined: no stream). */
export type CommittedStreamReader = (name: Uint8Array) => bigint | undefined

/**
 * The stream appends of one group's successful members, visible to later members, and what the
 * group writes to the stream index: one index entry per append and the new tip of each stream.
 */
export class GroupStreams {
  readonly tips = new Map<string, StreamTip>()
  /** One index entry per append: its first version and event id, and how many events it holds. */
  readonly entries: { name: Uint8Array; version: bigint; id: EventId; count: number }[] = []

  /**
   * An upper estimate of what the index writes add to the group (for the space reserve): each
   * stream touches a leaf page in each of the two databases, plus its entries' bytes.
   */
  estimateBytes(pageSize: number): number {
    let bytes = 2 * pageSize * this.tips.size
    for (const e of this.entries) bytes += 2 * (1 + e.name.length + 8 + 12)
    return bytes
  }

  /** Queues the group's index writes (same LMDB transaction as its events). */
  write(
    index: Database<Uint8Array, Uint8Array>,
    heads: Database<Uint8Array, Uint8Array>,
    commits: Set<Promise<boolean>>,
  ): void {
    for (const e of this.entries)
      commits.add(index.put(indexKey(e.name, e.version), indexValue(e.id, e.count)))
    for (const tip of this.tips.values())
      commits.add(heads.put(tip.name, headValue(tip.name, tip.version, tip.id)))
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

  constructor(private readonly committed: CommittedStreamReader) {}

  begin(group: GroupStreams): void {
    this.#group = group
    this.#appends = undefined
  }

  #current(stream: string, name: Uint8Array): bigint | undefined {
    const appends = this.#appends
    if (appends !== undefined) {
      for (let i = appends.length - 1; i >= 0; i--) {
        const a = appends[i]!
        if (a.stream === stream) return a.version + BigInt(a.count) - 1n
      }
    }
    const tip = this.#group.tips.get(stream)
    if (tip !== undefined) return tip.version
    return this.committed(name)
  }

  /**
   * Checks an append to `stream` against what it expects; returns the name's bytes, the version
   * its first event gets and the stream's current version. Records nothing (see `record`).
   */
  plan(
    stream: string,
    expected: ExpectedStreamVersion | undefined,
  ): { name: Uint8Array; first: bigint; actual: bigint | undefined } {
    const name = streamNameBytes(stream)
    const want = checkExpectedVersion(expected)
    const actual = this.#current(stream, name)
    if (!versionMatches(want, actual)) throw new ExpectedVersionConflictError(stream, want, actual)
    return { name, first: actual === undefined ? 0n : actual + 1n, actual }
  }

  /** Records a planned append once its events were accepted: they are the transaction's from `at`. */
  record(stream: string, name: Uint8Array, first: bigint, count: number, at: number): void {
    ;(this.#appends ??= []).push({ stream, name, version: first, count, at })
  }

  /** Moves the transaction's appends into the group; its first event got `firstEventId`. */
  merge(firstEventId: EventId | undefined): void {
    const appends = this.#appends
    if (appends === undefined || firstEventId === undefined) return
    const group = this.#group
    for (const a of appends) {
      group.entries.push({ name: a.name, version: a.version, id: firstEventId + a.at, count: a.count })
      const last = { version: a.version + BigInt(a.count) - 1n, id: firstEventId + a.at + a.count - 1 }
      const tip = group.tips.get(a.stream)
      if (tip === undefined) group.tips.set(a.stream, { name: a.name, ...last })
      else {
        tip.version = last.version
        tip.id = last.id
      }
    }
  }
}
