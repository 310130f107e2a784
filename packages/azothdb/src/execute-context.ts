import {
  type AnyEvents,
  ClosedError,
  type EventMetadata,
  type EventPayloadArgs,
  type EventTypeOf,
  type Key,
  type StreamAppendOutcome,
  type StreamEventInput,
  type StreamEventOf,
  TypedValue,
  type WriteContext,
} from '@azothdb/core'
import { checkArgument, rules } from '@azothdb/core/internal'
import type { DeclaredKeys } from './declared-keys.js'
import { requiredValue } from './required-value.js'
import { expectedVersionOf } from './stream-append.js'
import type { AppendToStreamOptions } from './streams.js'

/**
 * One event of `tx.logMany`: `[type, payload?, metadata?]`, its payload checked against the event
 * map `E` as `tx.log` checks it (untyped databases: any type, any payload).
 */
export type LogEntry<E = AnyEvents> = {
  [K in EventTypeOf<E>]: readonly [type: K, ...payloadAndMetadata: EventPayloadArgs<E[K]>]
}[EventTypeOf<E>]

/** A value `set` accepts: a TypedValue, or a plain value mapped by `TypedValue.of`. */
export type ValueInput = TypedValue | bigint | string | boolean | number | Uint8Array | Set<string>

/**
 * What `execute` sees: the latest state (including earlier transactions of the same group) for
 * the declared keys, and buffered writes and events that land only if `execute` returns normally.
 * `E` is the database's event map (`defineEvents`): `log` and `appendToStream` are checked against it.
 */
export interface ExecuteContext<E = AnyEvents> {
  /** The value, or `NOT_FOUND` when the key has none. */
  get(key: Key): TypedValue
  /** The value, or undefined when the key has none. */
  getOpt(key: Key): TypedValue | undefined
  /** True when the key has a value. */
  exists(key: Key): boolean
  /** Writes a value (plain values go through `TypedValue.of`); the key must come from `keys()` or `require*()`. */
  set(key: Key, value: ValueInput): void
  /** Removes the key's value. */
  delete(key: Key): void
  /** Replaces a value with `fn(old)`; `old` is undefined when the key has none. */
  update(key: Key, fn: (old: TypedValue | undefined) => ValueInput): void
  /** Appends an event whose payload is CBOR-encoded (`null` when left out). */
  log<K extends EventTypeOf<E>>(type: K, ...payloadAndMetadata: EventPayloadArgs<E[K]>): void
  /** Appends several events in order, each `[type, payload?, metadata?]` checked as `log` checks it. */
  logMany(events: Iterable<LogEntry<E>>): void
  /**
   * Appends an event whose payload bytes are stored as they are (type defaults to `'bytes'`): the
   * escape hatch from payload encoding, so the event map does not check it.
   */
  logBytes(bytes: Uint8Array, type?: string, metadata?: EventMetadata): void
  /**
   * Appends events to a stream declared by `streams()`, checking `expectedStreamVersion` against
   * the latest state (earlier transactions of the group and this one's own appends included); a
   * mismatch raises `ExpectedVersionConflictError` and, unless caught, fails this transaction.
   */
  appendToStream(
    stream: string,
    events: readonly StreamEventOf<E>[],
    options?: AppendToStreamOptions,
  ): StreamAppendOutcome
}

/**
 * The ExecuteContext of one transaction over the writer's context, enforcing declared keys. It
 * dies when its `execute` returns: the writer's context is shared by the whole group, so a context
 * leaked into a `.then` or another transaction would otherwise write keys nobody declared, or
 * nothing at all, without a word.
 */
export class DeclaredExecuteContext implements ExecuteContext {
  readonly #ctx: WriteContext
  readonly #declared: DeclaredKeys
  #live = true

  constructor(ctx: WriteContext, declared: DeclaredKeys) {
    this.#ctx = ctx
    this.#declared = declared
  }

  /** Called by the transaction once its `execute` returned or threw: every later call raises `CLOSED`. */
  end(): void {
    this.#live = false
  }

  #checkLive(): void {
    if (!this.#live) throw new ClosedError("this transaction's context (its execute has returned)")
  }

  get(key: Key): TypedValue {
    return requiredValue(key, this.getOpt(key))
  }

  getOpt(key: Key): TypedValue | undefined {
    this.#checkLive()
    this.#declared.check(key, false)
    return this.#ctx.get(key)
  }

  exists(key: Key): boolean {
    this.#checkLive()
    this.#declared.check(key, false)
    return this.#ctx.exists(key)
  }

  set(key: Key, value: ValueInput): void {
    this.#checkLive()
    this.#declared.check(key, true)
    this.#ctx.put(key, TypedValue.of(value))
  }

  delete(key: Key): void {
    this.#checkLive()
    this.#declared.check(key, true)
    this.#ctx.delete(key)
  }

  update(key: Key, fn: (old: TypedValue | undefined) => ValueInput): void {
    this.#checkLive()
    this.#declared.check(key, true)
    if (typeof fn !== 'function') checkArgument('fn', fn, rules.function)
    this.#ctx.put(key, TypedValue.of(fn(this.#ctx.get(key))))
  }

  log(type: string, payload: unknown = null, metadata?: EventMetadata): void {
    this.#checkLive()
    this.#ctx.appendEvent(type, payload, metadata)
  }

  logMany(events: Iterable<readonly [type: string, payload?: unknown, metadata?: EventMetadata]>): void {
    this.#checkLive()
    checkArgument('events', events, rules.iterable)
    for (const entry of events) {
      checkArgument('each event of logMany', entry, rules.array)
      const [type, payload, metadata] = entry
      this.#ctx.appendEvent(type, payload ?? null, metadata)
    }
  }

  logBytes(bytes: Uint8Array, type = 'bytes', metadata?: EventMetadata): void {
    this.#checkLive()
    this.#ctx.appendRawEvent(type, bytes, metadata)
  }

  appendToStream(
    stream: string,
    events: readonly StreamEventInput[],
    options?: AppendToStreamOptions,
  ): StreamAppendOutcome {
    this.#checkLive()
    this.#declared.checkStream(stream)
    return this.#ctx.appendToStream(stream, events, expectedVersionOf(options))
  }
}
