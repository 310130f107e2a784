import {
  ClosedError,
  ConflictError,
  decodeTypedValue,
  isAzothError,
  type Key,
  PreflightFailedError,
  type TypedValue,
  type WriteContext,
} from '@azothdb/core'
import { bytesEqual, keyId, keyToString, toError } from '@azothdb/core/internal'
import type { DeclaredKeys } from './declared-keys.js'
import { requiredValue } from './required-value.js'

/** Reads committed state (the canonical store). */
export interface CommittedState {
  getBytes(key: Key): Uint8Array | undefined
}

/** What `validate` callbacks read: committed state, limited to the declared keys. */
export interface PreflightContext {
  /** The value, or `NOT_FOUND` when the key has none. */
  get(key: Key): TypedValue
  /** The committed value, or undefined when the key has none. */
  getOpt(key: Key): TypedValue | undefined
  /** True when the key has a committed value. */
  exists(key: Key): boolean
}

/**
 * The reads of one transaction's preflight. Each key read is remembered with the bytes seen, so
 * the writer can re-check them: if another writer changed one in between, the transaction fails
 * with `CONFLICT` instead of acting on a stale check.
 */
export class PreflightReads implements PreflightContext {
  private readonly seen = new Map<string, { key: Key; bytes: Uint8Array | undefined }>()
  // A validator may keep its context past the preflight (a `.then`, a timer): it reads nothing then.
  #live = true

  constructor(
    private readonly state: CommittedState,
    private readonly declared: DeclaredKeys,
  ) {}

  /** Reads a key for a require* check (declared by that check). */
  read(key: Key): TypedValue | undefined {
    this.#checkLive()
    const id = keyId(key)
    let entry = this.seen.get(id)
    if (entry === undefined) {
      entry = { key, bytes: this.state.getBytes(key) }
      this.seen.set(id, entry)
    }
    return entry.bytes === undefined ? undefined : decodeTypedValue(entry.bytes)
  }

  get(key: Key): TypedValue {
    return requiredValue(key, this.getOpt(key))
  }

  getOpt(key: Key): TypedValue | undefined {
    this.#checkLive()
    this.declared.check(key, false)
    return this.read(key)
  }

  exists(key: Key): boolean {
    return this.getOpt(key) !== undefined
  }

  get size(): number {
    return this.seen.size
  }

  #checkLive(): void {
    if (!this.#live) throw new ClosedError("this transaction's preflight context (its preflight has ended)")
  }

  /** Ends the preflight: reads through this context raise `CLOSED` from now on. */
  end(): void {
    this.#live = false
  }

  /** In the writer: raises `CONFLICT` when a key read in preflight no longer holds what was seen. */
  recheck(ctx: WriteContext): void {
    for (const { key, bytes } of this.seen.values()) {
      const now = ctx.getBytes(key)
      const same = now === undefined || bytes === undefined ? now === bytes : bytesEqual(now, bytes)
      if (!same) {
        throw new ConflictError(`key '${keyToString(key)}' changed between preflight and commit`, {
          details: { key: keyToString(key) },
        })
      }
    }
  }
}

/** Runs one check; a throw or `false` rejects the transaction with `PREFLIGHT_FAILED`. */
export async function runCheck(name: string, check: () => unknown): Promise<void> {
  let outcome: unknown
  try {
    outcome = await check()
  } catch (e) {
    // Business errors that are Azoth errors (e.g. subclasses of PreflightFailedError) pass unchanged.
    if (isAzothError(e)) throw e
    const cause = toError(e)
    throw new PreflightFailedError(`${name} failed: ${cause.message}`, { cause, details: { check: name } })
  }
  if (outcome === false) throw new PreflightFailedError(`${name} failed`, { details: { check: name } })
}
