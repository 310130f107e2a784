import {
  AzothError,
  type CommitOptions,
  type CommitResult,
  type IdempotencyWindow,
  MAX_IDEMPOTENCY_KEY_BYTES,
} from '@azothdb/core'
import { checkArgumentFields, idempotencyKeyBytes, rules } from '@azothdb/core/internal'
import type { Database } from 'lmdb'
import { readFast } from './fast-read.js'
import {
  decodeOrder,
  decodeRecord,
  encodeOrder,
  encodeRecord,
  ORDER_END,
  ORDER_START,
  orderKey,
  RECORD_PREFIX,
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
  /** The operation's UTF-8 length. */
  readonly operationLength: number
}

/** The claim of a commit's options (undefined without a key); bad options raise `INVALID_ARGUMENT`. */
export function claimOf(options: CommitOptions | undefined): IdempotencyClaim | undefined {
  if (options === undefined) return undefined
  // Checked field by field, not with a generic helper: this runs once per keyed commit.
  for (const field in options) {
    if (field !== 'idempotencyKey' && field !== 'operation') {
      checkArgumentFields('commit options', options, {
        idempotencyKey: rules.string,
        operation: rules.string,
      })
    }
  }
  const operation = options.operation ?? ''
  const operationLength =
    typeof operation === 'string' && operation.isWellFormed() ? Buffer.byteLength(operation) : -1
  if (operationLength < 0 || operationLength > 1024) {
    throw new AzothError(
      'INVALID_ARGUMENT',
      'a commit operation must be a well-formed string of at most 1 KiB',
      {
        details: { argument: 'operation' },
      },
    )
  }
  const key = options.idempotencyKey
  if (key === undefined) return undefined
  const keyLength = typeof key === 'string' && key.isWellFormed() ? Buffer.byteLength(key) : 0
  // The core check raises the error every entry point raises for a bad key.
  if (keyLength === 0 || keyLength > MAX_IDEMPOTENCY_KEY_BYTES) idempotencyKeyBytes(key)
  const record = Buffer.allocUnsafe(1 + keyLength)
  record[0] = RECORD_PREFIX
  record.write(key, 1, 'utf8')
  return { key, bytes: record.subarray(1), recordKey: record, operation, operationLength }
}

/** A key claimed by a member of the group being written, with what its commit did. */
interface PendingKey {
  readonly claim: IdempotencyClaim
  readonly seq: number
  readonly outcome: CommitResult<unknown>
  readonly result: Uint8Array | undefined
}

/** Keys expiry may remove per group beyond one per key the group stores. */
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
      bytes += 2 * (64 + p.claim.bytes.length) + p.claim.operationLength + (p.result?.length ?? 0)
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
  /** The seq the next new key gets: one past the newest key of the last order entry. */
  #nextSeq: number

  constructor(
    private readonly db: Database<Bytes, Bytes>,
    private readonly window: IdempotencyWindow,
  ) {
    this.#nextSeq = 0
    // A reverse range starts at its high end: the last order entry below the records.
    const last = db.getRange({ start: ORDER_END, end: ORDER_START, reverse: true, limit: 1 })
    for (const { key, value } of last) {
      const entry = decodeOrder(key, value)
      this.#nextSeq = entry.seq + entry.records.length
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
    // Keys the group's earlier members stored count: they were stored before this one is looked up.
    const nextSeq = group?.nextSeq ?? this.#nextSeq
    if (nextSeq - record.seq > this.window.maxKeys || now - record.at > this.window.maxAgeMs) return undefined
    checkOperation(claim, record.operation)
    return record.outcome
  }

  /**
   * Queues the group's writes into the LMDB transaction of its commit: first the expiry of the
   * oldest keys, bounded (see `#expired`) so a commit never scans the table, then the group's
   * records and its one order entry.
   */
  write(group: GroupKeys, now: number, commits: Set<Promise<boolean>>): void {
    // Everything is read (and a damaged entry raises) before the first write is queued: queued
    // writes of this event turn would commit whatever happens after.
    const removals = this.#expired(group, now)
    for (const key of removals) commits.add(this.db.remove(key))
    const keys: Uint8Array[] = []
    for (const p of group.pending.values()) {
      const { claim } = p
      commits.add(
        this.db.put(
          claim.recordKey,
          encodeRecord(
            claim.recordKey,
            p.seq,
            now,
            claim.operation,
            claim.operationLength,
            p.outcome,
            p.result,
          ),
        ),
      )
      keys.push(claim.bytes)
    }
    const order = orderKey(group.firstSeq)
    commits.add(this.db.put(order, encodeOrder(order, now, keys)))
  }

  /**
   * Keys of the oldest entries out of the window once `group` is stored: whole order entries (the
   * keys of one earlier group) whose newest key is out of the window, with their records, until
   * one key per key the group stores plus {@link EXPIRY_SLACK} are removed. The first expired entry
   * always goes, so the bound is that plus the largest group's keys.
   */
  #expired(group: GroupKeys, now: number): Buffer[] {
    const nextSeq = group.nextSeq
    let budget = group.pending.size + EXPIRY_SLACK
    const removals: Buffer[] = []
    for (const { key, value } of this.db.getRange({ start: ORDER_START, end: ORDER_END })) {
      if (budget <= 0) break
      const entry = decodeOrder(key, value)
      const newest = entry.seq + entry.records.length - 1
      const expired = nextSeq - newest > this.window.maxKeys || now - entry.at > this.window.maxAgeMs
      if (!expired) break
      removals.push(Buffer.from(key))
      budget -= entry.records.length
      for (let i = 0; i < entry.records.length; i++) {
        // A key stored again later has a newer record: only a record still at this seq goes, and
        // none a member of this group is storing anew.
        const record = entry.records[i]!
        const stored = readFast(this.db, record)
        if (stored === undefined || recordSeq(record, stored) !== entry.seq + i) continue
        if (!group.pending.has(record.subarray(1).toString('utf8'))) removals.push(record)
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
