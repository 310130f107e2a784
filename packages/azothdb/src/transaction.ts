import {
  type AnyEvents,
  AzothError,
  type CommitOptions,
  type CommitResult,
  type Key,
  type TypedValue,
} from '@azothdb/core'
import {
  checkArgument,
  idempotencyKeyBytes,
  keyToString,
  rules,
  type StripeLease,
} from '@azothdb/core/internal'
import { Access, DeclaredKeys } from './declared-keys.js'
import { DeclaredExecuteContext, type ExecuteContext } from './execute-context.js'
import { type PreflightContext, PreflightReads, runCheck } from './preflight.js'
import type { TransactionHost } from './transaction-host.js'

/** What a committed transaction did. */
export interface CommitInfo<R = void> {
  /** Events this transaction logged. */
  readonly eventsWritten: number
  /** Ids of its events, or undefined when it logged none. */
  readonly firstEventId: number | undefined
  /** Id of its last event, or undefined when it logged none. */
  readonly lastEventId: number | undefined
  /** Keys it set. */
  readonly stateKeysWritten: number
  /** Keys it deleted. */
  readonly stateKeysDeleted: number
  /**
   * What `execute`'s function returned; for a duplicate, the first execution's value as stored
   * (a structured clone of it).
   */
  readonly result: R
  /**
   * True when the transaction's idempotency key was already committed within the window: `execute`'s
   * function did not run, nothing was written, and the other fields are the first commit's.
   */
  readonly duplicate: boolean
}

type Check = {
  readonly kind: 'require'
  readonly key: Key
  readonly name: string
  readonly fn: (v: TypedValue | undefined) => unknown
}
type Validator = (ctx: PreflightContext) => unknown

function toBigInt(value: bigint | number, what: string): bigint {
  if (typeof value === 'bigint') return value
  if (!Number.isSafeInteger(value))
    throw new AzothError('INVALID_ARGUMENT', `${what} must be a bigint or a safe integer`)
  return BigInt(value)
}

/**
 * A transaction: declare its keys, add preflight checks, then `execute`. Preflight runs under
 * stripe locks against committed state (async allowed); `execute` runs synchronously in the single
 * writer, in FIFO order, against the latest state, and its writes land only if it returns normally.
 *
 * @example
 * await db.transaction()
 *   .requireMin('alice', 100n)
 *   .keys(['bob'])
 *   .execute((tx) => {
 *     tx.update('alice', (v) => TypedValue.i64(v!.asI64() - 100n))
 *     tx.update('bob', (v) => TypedValue.i64((v?.asI64() ?? 0n) + 100n))
 *     tx.log('transferred', { from: 'alice', to: 'bob', amount: 100 })
 *   })
 */
export class Transaction<E = AnyEvents> {
  readonly #declared = new DeclaredKeys()
  #checks: Check[] | undefined
  #validators: Validator[] | undefined
  #used = false
  #commitOptions: CommitOptions | undefined
  readonly #host: TransactionHost

  // Declarations after execute() would change the key set the writer checks against after the
  // stripe locks were chosen: an undeclared-and-unlocked key could then be written.
  #checkNotExecuted(method: string): void {
    if (this.#used) {
      throw new AzothError('INVALID_ARGUMENT', `${method}() cannot be called after execute()`, {
        details: { method },
      })
    }
  }

  /** @internal the database makes transactions: `db.transaction()`. */
  constructor(host: TransactionHost) {
    this.#host = host
  }

  /** Declares keys the transaction may read and write (locked exclusively during preflight). */
  keys(keys: Iterable<Key>): this {
    this.#checkNotExecuted('keys')
    for (const k of checkArgument('keys', keys, rules.iterable) as Iterable<Key>)
      this.#declared.add(k, Access.Exclusive)
    return this
  }

  /**
   * Declares streams the transaction may append to (`tx.appendToStream`); they lock like keys.
   * Bad names raise `INVALID_ARGUMENT`.
   */
  streams(streams: Iterable<string>): this {
    this.#checkNotExecuted('streams')
    for (const s of streams) this.#declared.addStream(s)
    return this
  }

  /**
   * Makes the transaction idempotent under `key` (a non-empty string of at most 255 UTF-8 bytes,
   * e.g. the request id of the command it carries out): executing a transaction with a key already
   * committed within the database's idempotency window runs nothing, writes nothing and resolves
   * with the first commit's `CommitInfo` and `duplicate: true`. The check is made in the writer, so
   * concurrent transactions with one key apply once. A retry whose preflight fails (the first
   * execution changed what it checks) still resolves as a duplicate. `execute`'s function must then
   * return a structured-cloneable value (or nothing): a retry gets a copy of it back.
   */
  idempotencyKey(key: string): this {
    this.#checkNotExecuted('idempotencyKey')
    idempotencyKeyBytes(key)
    this.#commitOptions = { idempotencyKey: key, operation: 'transaction' }
    return this
  }

  /** Declares keys the transaction only reads (shared locks; writing one raises `UNDECLARED_KEY`). */
  reads(keys: Iterable<Key>): this {
    this.#checkNotExecuted('reads')
    for (const k of checkArgument('keys', keys, rules.iterable) as Iterable<Key>)
      this.#declared.add(k, Access.Shared)
    return this
  }

  /** Checks a key's committed value in preflight: throw or return false to reject. Declares the key. */
  require(key: Key, check: (value: TypedValue | undefined) => unknown, name?: string): this {
    this.#checkNotExecuted('require')
    checkArgument('key', key, rules.key)
    checkArgument('check', check, rules.function)
    const label =
      name === undefined ? `require(${keyToString(key)})` : checkArgument('name', name, rules.string)
    this.#declared.add(key, Access.Exclusive)
    ;(this.#checks ??= []).push({ kind: 'require', key, name: label, fn: check })
    return this
  }

  /** Requires the key to have a value. */
  requireExists(key: Key): this {
    checkArgument('key', key, rules.key)
    return this.require(key, (v) => v !== undefined, `requireExists(${keyToString(key)})`)
  }

  /** Requires an i64/u256 value of at least `min` (a missing key fails). */
  requireMin(key: Key, min: bigint | number): this {
    checkArgument('key', key, rules.key)
    const bound = toBigInt(min, 'requireMin bound')
    return this.require(
      key,
      (v) => v !== undefined && v.asBigInt() >= bound,
      `requireMin(${keyToString(key)}, ${bound})`,
    )
  }

  /** Requires an i64/u256 value of at most `max` (a missing key fails). */
  requireMax(key: Key, max: bigint | number): this {
    checkArgument('key', key, rules.key)
    const bound = toBigInt(max, 'requireMax bound')
    return this.require(
      key,
      (v) => v !== undefined && v.asBigInt() <= bound,
      `requireMax(${keyToString(key)}, ${bound})`,
    )
  }

  /** An async check over declared keys (`ctx.get`, `getOpt`, `exists`): throw or return false to reject. */
  validate(fn: (ctx: PreflightContext) => unknown): this {
    this.#checkNotExecuted('validate')
    checkArgument('fn', fn, rules.function)
    ;(this.#validators ??= []).push(fn)
    return this
  }

  /** Runs preflight, then queues `fn` for the writer; resolves once committed with the database's durability. */
  execute<R = void>(fn: (ctx: ExecuteContext<E>) => R): Promise<CommitInfo<R>> {
    if (this.#used)
      return Promise.reject(new AzothError('INVALID_ARGUMENT', 'a transaction can be executed only once'))
    this.#used = true
    if (typeof fn !== 'function')
      return Promise.reject(new AzothError('INVALID_ARGUMENT', 'execute needs a function'))
    const host = this.#host
    const started = performance.now()
    let lease: StripeLease | Promise<StripeLease> | undefined
    try {
      host.checkWritable()
      if (this.#declared.size > 0) lease = host.lock(this.#declared.exclusive, this.#declared.shared)
    } catch (e) {
      host.recordFailure(e)
      return Promise.reject(e)
    }
    // The common case (free stripes, no checks) reaches the commit queue in the caller's own tick,
    // so callers woken together by one acknowledgement share the next group commit.
    if (lease instanceof Promise || this.#checks !== undefined || this.#validators !== undefined) {
      return this.#preflightThenCommit(lease, fn as (ctx: ExecuteContext) => R, started)
    }
    return this.#commit(lease, undefined, fn as (ctx: ExecuteContext) => R, started)
  }

  async #preflightThenCommit<R>(
    pending: StripeLease | Promise<StripeLease> | undefined,
    fn: (ctx: ExecuteContext) => R,
    started: number,
  ): Promise<CommitInfo<R>> {
    let lease: StripeLease | undefined
    let reads: PreflightReads | undefined
    try {
      lease = await pending
      if (this.#checks !== undefined || this.#validators !== undefined) {
        reads = new PreflightReads(this.#host.state, this.#declared)
        try {
          await this.#preflight(reads)
        } catch (e) {
          if (this.#commitOptions === undefined) throw e
          // A retry of a transaction that did apply may fail the checks its first run made true
          // (the money has moved): the writer answers with the first commit if the key is there,
          // else with this failure; nothing is written either way.
          return this.#commit(
            lease,
            undefined,
            () => {
              throw e
            },
            started,
          )
        } finally {
          reads.end()
        }
      }
    } catch (e) {
      lease?.release()
      this.#host.recordFailure(e)
      throw e
    }
    return this.#commit(lease, reads, fn, started)
  }

  #commit<R>(
    lease: StripeLease | undefined,
    reads: PreflightReads | undefined,
    fn: (ctx: ExecuteContext) => R,
    started: number,
  ): Promise<CommitInfo<R>> {
    const host = this.#host
    const declared = this.#declared
    return host
      .commit((ctx) => {
        reads?.recheck(ctx)
        const context = new DeclaredExecuteContext(ctx, declared)
        try {
          return fn(context)
        } finally {
          context.end()
        }
      }, this.#commitOptions)
      .then(
        (result: CommitResult<R>) => {
          lease?.release()
          host.recordCommit(performance.now() - started)
          return result
        },
        (e: unknown) => {
          lease?.release()
          host.recordFailure(e)
          throw e
        },
      )
  }

  async #preflight(reads: PreflightReads): Promise<void> {
    if (this.#checks) {
      for (const check of this.#checks) {
        const value = reads.read(check.key)
        await runCheck(check.name, () => check.fn(value))
      }
    }
    if (this.#validators) {
      for (const validate of this.#validators) await runCheck('validate', () => validate(reads))
    }
  }
}
