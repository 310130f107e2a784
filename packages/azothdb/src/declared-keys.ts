import { AzothError, type Key } from '@azothdb/core'
import {
  checkArgument,
  describeValue,
  keyId,
  keyToString,
  rules,
  streamNameBytes,
} from '@azothdb/core/internal'

/** How a transaction declared a key: exclusive keys may be written, shared ones only read. */
export enum Access {
  Shared = 1,
  Exclusive = 2,
}

/** The keys a transaction declared, by key id, with their access. */
export class DeclaredKeys {
  readonly exclusive: Key[] = []
  readonly shared: Key[] = []
  private readonly access = new Map<string, Access>()
  private streams: Set<string> | undefined

  add(key: Key, access: Access): void {
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) checkArgument('key', key, rules.key)
    const id = keyId(key)
    const had = this.access.get(id)
    if (had === undefined) {
      this.access.set(id, access)
      ;(access === Access.Exclusive ? this.exclusive : this.shared).push(key)
    } else if (had === Access.Shared && access === Access.Exclusive) {
      this.access.set(id, access)
      this.exclusive.push(key)
    }
  }

  /** Raises `UNDECLARED_KEY` unless the key was declared (for writing, when `write`). */
  check(key: Key, write: boolean): void {
    // Inline on the hot path (every read and write of execute); the rule only words the error.
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) checkArgument('key', key, rules.key)
    const access = this.access.get(keyId(key))
    if (access === undefined) {
      throw new AzothError(
        'UNDECLARED_KEY',
        `key '${keyToString(key)}' was not declared by keys(), reads() or require*()`,
        {
          details: { key: keyToString(key) },
        },
      )
    }
    if (write && access !== Access.Exclusive) {
      throw new AzothError(
        'UNDECLARED_KEY',
        `key '${keyToString(key)}' was declared read-only by reads(); writing it needs keys()`,
        {
          details: { key: keyToString(key) },
        },
      )
    }
  }

  /**
   * Declares a stream the transaction may append to: it locks a stripe exclusively, like a key
   * (under a name no state key is likely to share; sharing one would only add waiting).
   */
  addStream(stream: string): void {
    streamNameBytes(stream)
    if (this.streams === undefined) this.streams = new Set()
    if (this.streams.has(stream)) return
    this.streams.add(stream)
    this.exclusive.push(`\u0000stream\u0000${stream}`)
  }

  /** Raises `UNDECLARED_KEY` unless the stream was declared by `streams()`. */
  checkStream(stream: string): void {
    if (this.streams?.has(stream) !== true) {
      const name = typeof stream === 'string' ? stream : describeValue(stream)
      throw new AzothError('UNDECLARED_KEY', `stream '${name}' was not declared by streams()`, {
        details: { stream: name },
      })
    }
  }

  get size(): number {
    return this.access.size + (this.streams?.size ?? 0)
  }
}
