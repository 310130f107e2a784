import {
  type AnyEvents,
  AzothError,
  type CommitOptions,
  type CommitResult,
  type EventMetadata,
  type EventPayloadArgs,
  type EventTypeOf,
  type Key,
  TypedValue,
  type WriteContext,
} from '@azothdb/core'
import { checkArgument, idempotencyKeyBytes, rules } from '@azothdb/core/internal'
import type { ValueInput } from './execute-context.js'

type BatchOp =
  | { readonly kind: 'put'; readonly key: Key; readonly value: TypedValue }
  | { readonly kind: 'delete'; readonly key: Key }
  | {
      readonly kind: 'event'
      readonly type: string
      readonly payload: unknown
      readonly metadata: EventMetadata | undefined
    }
  | {
      readonly kind: 'raw'
      readonly type: string
      readonly payload: Uint8Array
      readonly metadata: EventMetadata | undefined
    }

/**
 * Writes without preflight or locks, committed atomically in the writer. Transactions whose
 * preflight read a key the batch changes fail with `CONFLICT`.
 *
 * @example
 * await db.writeBatch().put('config/mode', 'live').appendEvent('configured', { mode: 'live' }).commit()
 */
export class WriteBatch<E = AnyEvents> {
  readonly #ops: BatchOp[] = []
  #committed = false
  #options: CommitOptions | undefined

  readonly #commit: <R>(fn: (ctx: WriteContext) => R, options?: CommitOptions) => Promise<CommitResult<R>>

  /** @internal the database makes batches: `db.writeBatch()`. */
  constructor(
    commit: <R>(fn: (ctx: WriteContext) => R, options?: CommitOptions) => Promise<CommitResult<R>>,
  ) {
    this.#commit = commit
  }

  // commit() hands the writer this batch's operations: one added later would land in the commit
  // already queued, or silently nowhere, depending on when the writer runs.
  #checkNotCommitted(method: string): void {
    if (this.#committed) {
      throw new AzothError('INVALID_ARGUMENT', `${method}() cannot be called after commit()`, {
        details: { method },
      })
    }
  }

  /** Sets a key (plain values go through `TypedValue.of`). */
  put(key: Key, value: ValueInput): this {
    this.#checkNotCommitted('put')
    checkArgument('key', key, rules.key)
    this.#ops.push({ kind: 'put', key, value: TypedValue.of(value) })
    return this
  }

  /** Removes a key. */
  delete(key: Key): this {
    this.#checkNotCommitted('delete')
    checkArgument('key', key, rules.key)
    this.#ops.push({ kind: 'delete', key })
    return this
  }

  /** Appends an event with a CBOR payload (`null` when left out), checked against the database's event map. */
  appendEvent<K extends EventTypeOf<E>>(type: K, ...payloadAndMetadata: EventPayloadArgs<E[K]>): this {
    this.#checkNotCommitted('appendEvent')
    const [payload = null, metadata] = payloadAndMetadata as [unknown?, EventMetadata?]
    this.#ops.push({ kind: 'event', type, payload, metadata })
    return this
  }

  /** Appends an event whose payload bytes are stored as they are. */
  appendBytes(type: string, payload: Uint8Array, metadata?: EventMetadata): this {
    this.#checkNotCommitted('appendBytes')
    this.#ops.push({ kind: 'raw', type, payload, metadata })
    return this
  }

  /**
   * Makes the batch idempotent under `key` (a non-empty string of at most 255 UTF-8 bytes): a batch
   * committed with a key already committed within the database's idempotency window writes nothing
   * and resolves with the first commit's result and `duplicate: true`.
   */
  idempotencyKey(key: string): this {
    this.#checkNotCommitted('idempotencyKey')
    idempotencyKeyBytes(key)
    this.#options = { idempotencyKey: key, operation: 'writeBatch' }
    return this
  }

  /** Operations queued so far. */
  get size(): number {
    return this.#ops.length
  }

  /** Commits every operation or none. A batch commits once. */
  commit(): Promise<CommitResult<void>> {
    if (this.#committed)
      return Promise.reject(new AzothError('INVALID_ARGUMENT', 'this batch was already committed'))
    this.#committed = true
    const ops = this.#ops
    return this.#commit((ctx) => {
      for (const op of ops) {
        if (op.kind === 'put') ctx.put(op.key, op.value)
        else if (op.kind === 'delete') ctx.delete(op.key)
        else if (op.kind === 'event') ctx.appendEvent(op.type, op.payload, op.metadata)
        else ctx.appendRawEvent(op.type, op.payload, op.metadata)
      }
    }, this.#options)
  }
}
