import { AzothError, type CommitOptions, type CommitResult, type IdempotencyWindow } from '@azothdb/core'
import { checkArgumentFields, idempotencyKeyBytes, rules } from '@azothdb/core/internal'
import type { Database } from 'lmdb'
import { readFast } from './fast-read.js'
import {
  decodeOrder,
  decodeRecord,
  encodeOrder,
  encodeRecord,
  ORDER_END,
  operationBytes,
  orderKey,
  recordKey,
  recordSeq,
} from './idempotency-records.js'

type Bytes = Uint8Array

/** A commit's idempotency key as the writer needs it: checked, encoded, with its operation. */
export interface IdempotencyClaim {
  /** The key as given (the group's map key). */
  readonly key: string
  /** The key's UTF-8 bytes. */
  readonly bytes: Uint8Array
  /** The record's LMDB key. */
  readonly recordKey: Buffer
  readonly operation: string
  readonly operationBytes: Uint8Array
}

/** The claim of a commit's options (undefined without a key); bad options raise `INVALID_ARGUMENT`. */
export function claimOf(options: CommitOptions | undefined): IdempotencyClaim | undefined {
  if (options === undefined) return undefined
  checkArgumentFields('commit options', options, { idempotencyKey: rules.string, operation: rules.string })
  const key = options.idempotencyKey
  if (key === undefined) return undefined
  const bytes = idempotencyKeyBytes(key)
  const operation = options.operation ?? ''
  return { key, bytes, recordKey: recordKey(bytes), operation, operationBytes: operationBytes(operation) }
}

/** A key claimed by a member of the group being written, with what its commit did. */
interface PendingKey {
  readonly claim: IdempotencyClaim
  readonly seq: number
  readonly outcome: CommitResult<unknown>
  readonly result: Uint8Array | undefined
}

/** Order entries expiry may remove per group beyond one per key the group stores. */
const EXPIRY_SLACK = 32

/**
 * The keys one group stores: visible to its later members (a key seen earlier in the same group
 * is a duplicate too), and written with the group.
 */
export class GroupKeys {
  readonly pending = new Map<string, PendingKey>()

  constructor(
    /** The seq the group's first new key gets. */
    readonly firstSeq: number,
  ) {}

  get nextSeq(): number {
    return this.firstSeq + this.pending.size
  }

  add(claim: IdempotencyClaim, outcome: CommitResult<unknown>, result: Uint8Array | undefined): void {
    this.pending.set(claim.key, { claim, seq: this.nextSeq, outcome, result })
  }

  /** An upper estimate of the bytes the group's records add (for the space reserve). */
  estimateBytes(pageSize: number): number {
    let bytes = 2 * pageSize
    for (const p of this.pending.values()) {
      bytes += 2 * (64 + p.claim.bytes.length) + p.claim.operationBytes.length + (p.result?.length ?? 0)
    }
    return bytes
  }
}

/**
 * The writer's view of the `idempotency` database: finds a claimed key among the group's earlier
 * members and the committed records (within the window), and writes a group's new keys together
 * with a bounded expiry of the oldest ones. Used only by the single writer.
 */
export class IdempotencyTable {
  /** The seq the next new key gets: one past the newest order entry committed. */
  #nextSeq: number

  constructor(
    private readonly db: Database<Bytes, Bytes>,
    private readonly window: IdempotencyWindow,
  ) {
    this.#nextSeq = 0
    // A reverse range starts at its high end: the last order entry below the records.
    for (const { key, value } of db.getRange({
      start: ORDER_END,
      end: orderKey(0),
      reverse: true,
      limit: 1,
    })) {
      this.#nextSeq = decodeOrder(key, value).seq + 1
    }
  }

  /** Keys for a new group: its new keys are numbered from the committed ones. */
  beginGroup(): GroupKeys {
    return new GroupKeys(this.#nextSeq)
  }

  /** The group committed: its keys are the table's now. */
  committed(group: GroupKeys): void {
    this.#nextSeq = group.nextSeq
  }

  /**
   * The first commit's result when `claim`'s key is a duplicate (stored earlier in `group`, or
   * committed within the window at time `now`), else undefined. The same key for another
   * operation raises `INVALID_ARGUMENT`: the request is not the one the key was first used for.
   */
  find(
    claim: IdempotencyClaim,
    now: number,
    group: GroupKeys | undefined,
  ): CommitResult<unknown> | undefined {
    const pending = group?.pending.get(claim.key)
    if (pending !== undefined) {
      checkOperation(claim, pending.claim.operation)
      return { ...pending.outcome, duplicate: true }
    }
    const stored = readFast(this.db, claim.recordKey)
    if (stored === undefined) return undefined
    const record = decodeRecord(claim.recordKey, stored)
    if (!this.#live(record.seq, record.at, now)) return undefined
    checkOperation(claim, record.operation)
    return record.outcome
  }

  #live(seq: number, at: number, now: number): boolean {
    return this.#nextSeq - seq <= this.window.maxKeys && now - at <= this.window.maxAgeMs
  }

  /**
   * Queues the group's writes into the LMDB transaction of its commit: first the expiry of the
   * oldest keys, bounded (one order entry per key the group stores, plus a few) so a commit never
   * scans the table, then the group's records and order entries.
   */
  write(group: GroupKeys, now: number, commits: Set<Promise<boolean>>): void {
    // Everything is read (and a damaged entry raises) before the first write is queued: queued
    // writes of this event turn would commit whatever happens after.
    const removals = this.#expired(group, now)
    for (const key of removals) commits.add(this.db.remove(key))
    for (const p of group.pending.values()) {
      const { claim } = p
      commits.add(
        this.db.put(
          claim.recordKey,
          encodeRecord(claim.recordKey, p.seq, now, claim.operationBytes, p.outcome, p.result),
        ),
      )
      const order = orderKey(p.seq)
      commits.add(this.db.put(order, encodeOrder(order, now, claim.bytes)))
    }
  }

  /** Keys of the oldest entries out of the window once `group` is stored (a bounded number). */
  #expired(group: GroupKeys, now: number): Buffer[] {
    const nextSeq = group.nextSeq
    const limit = group.pending.size + EXPIRY_SLACK
    const removals: Buffer[] = []
    for (const { key, value } of this.db.getRange({ start: orderKey(0), end: ORDER_END, limit })) {
      const entry = decodeOrder(key, value)
      const expired = nextSeq - entry.seq > this.window.maxKeys || now - entry.at > this.window.maxAgeMs
      if (!expired) break
      removals.push(Buffer.from(key))
      // A key stored again later has a newer record (and order entry): only a record still at this
      // seq goes, and none a member of this group is storing anew.
      const stored = readFast(this.db, entry.record)
      const name = entry.record.subarray(1).toString('utf8')
      if (stored !== undefined && recordSeq(entry.record, stored) === entry.seq && !group.pending.has(name)) {
        removals.push(entry.record)
      }
    }
    return removals
  }
}

function checkOperation(claim: IdempotencyClaim, operation: string): void {
  if (operation === claim.operation) return
  throw new AzothError(
    'INVALID_ARGUMENT',
    `idempotency key '${claim.key}' was first used for ${describe(operation)}, not ${describe(claim.operation)}: use a new key for a new request`,
    { details: { idempotencyKey: claim.key, operation: claim.operation, originalOperation: operation } },
  )
}

function describe(operation: string): string {
  return operation === '' ? 'another kind of commit' : `'${operation}'`
}
