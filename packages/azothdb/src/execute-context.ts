import {
  type EventMetadata,
  type Key,
  type StreamAppendOutcome,
  type StreamEventInput,
  TypedValue,
  type WriteContext,
} from '@azothdb/core'
import type { DeclaredKeys } from './declared-keys.js'
import { requiredValue } from './required-value.js'
import { expectedVersionOf } from './stream-append.js'
import type { AppendToStreamOptions } from './streams.js'

/** A value `set` accepts: a TypedValue, or a plain value mapped by `TypedValue.of`. */
export type ValueInput = TypedValue | bigint | string | boolean | number | Uint8Array | Set<string>

/**
 * What `execute` sees: the latest state (including earlier transactions of the same group) for
 * the declared keys, and buffered writes and events that land only if `execute` returns normally.
 */
export interface ExecuteContext {
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
  /** Appends an event whose payload is CBOR-encoded. */
  log(type: string, payload?: unknown, metadata?: EventMetadata): void
  /** Appends several events in order. */
  logMany(events: Iterable<readonly [type: string, payload?: unknown, metadata?: EventMetadata]>): void
  /** Appends an event whose payload bytes are stored as they are (type defaults to `'bytes'`). */
  logBytes(bytes: Uint8Array, type?: string, metadata?: EventMetadata): void
  /**
   * Appends events to a stream declared by `streams()`, checking `expectedStreamVersion` against
   * the latest state (earlier transactions of the group and this one's own appends included); a
   * mismatch raises `ExpectedVersionConflictError` and, unless caught, fails this transaction.
   */
  appendToStream(
    stream: string,
    events: readonly StreamEventInput[],
    options?: AppendToStreamOptions,
  ): StreamAppendOutcome
}

/** The ExecuteContext of one transaction over the writer's context, enforcing declared keys. */
export class DeclaredExecuteContext implements ExecuteContext {
  constructor(
    private readonly ctx: WriteContext,
    private readonly declared: DeclaredKeys,
  ) {}

  get(key: Key): TypedValue {
    return requiredValue(key, this.getOpt(key))
  }

  getOpt(key: Key): TypedValue | undefined {
    this.declared.check(key, false)
    return this.ctx.get(key)
  }

  exists(key: Key): boolean {
    this.declared.check(key, false)
    return this.ctx.exists(key)
  }

  set(key: Key, value: ValueInput): void {
    this.declared.check(key, true)
    this.ctx.put(key, TypedValue.of(value))
  }

  delete(key: Key): void {
    this.declared.check(key, true)
    this.ctx.delete(key)
  }

  update(key: Key, fn: (old: TypedValue | undefined) => ValueInput): void {
    this.declared.check(key, true)
    this.ctx.put(key, TypedValue.of(fn(this.ctx.get(key))))
  }

  log(type: string, payload: unknown = null, metadata?: EventMetadata): void {
    this.ctx.appendEvent(type, payload, metadata)
  }

  logMany(events: Iterable<readonly [type: string, payload?: unknown, metadata?: EventMetadata]>): void {
    for (const [type, payload, metadata] of events) this.ctx.appendEvent(type, payload ?? null, metadata)
  }

  logBytes(bytes: Uint8Array, type = 'bytes', metadata?: EventMetadata): void {
    this.ctx.appendRawEvent(type, bytes, metadata)
  }

  appendToStream(
    stream: string,
    events: readonly StreamEventInput[],
    options?: AppendToStreamOptions,
  ): StreamAppendOutcome {
    this.declared.checkStream(stream)
    return this.ctx.appendToStream(stream, events, expectedVersionOf(options))
  }
}
