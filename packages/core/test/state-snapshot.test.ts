import {
  type CanonicalStore,
  ClosedError,
  type EventId,
  type Key,
  type StateEntry,
  type StateSnapshot,
  TypedValue,
} from '@azothdb/core'
import { keyId } from '@azothdb/core/internal'
import { describe, expect, expectTypeOf, it } from 'vitest'

/** The smallest StateSnapshot: a frozen copy of a map (enough to check the interface's shape). */
class MapSnapshot implements StateSnapshot {
  private closed = false
  private readonly entries: Map<string, TypedValue>

  constructor(entries: Map<string, TypedValue>) {
    this.entries = new Map(entries)
  }

  private check(): void {
    if (this.closed) throw new ClosedError('the snapshot')
  }
  get(key: Key): TypedValue | undefined {
    this.check()
    return this.entries.get(keyId(key))
  }
  getBytes(key: Key): Uint8Array | undefined {
    this.check()
    return this.entries.has(keyId(key)) ? new Uint8Array([1]) : undefined
  }
  exists(key: Key): boolean {
    this.check()
    return this.entries.has(keyId(key))
  }
  *scan(prefix: Key): IterableIterator<StateEntry> {
    this.check()
    for (const [key, value] of this.entries) if (key.startsWith(String(prefix))) yield { key, value }
  }
  *range(start: Key, end: Key): IterableIterator<StateEntry> {
    this.check()
    for (const [key, value] of this.entries)
      if (key >= String(start) && key < String(end)) yield { key, value }
  }
  close(): void {
    this.closed = true
  }
  [Symbol.dispose](): void {
    this.close()
  }
}

describe('the canonical store interface', () => {
  it('offers read snapshots and a pause scope', () => {
    expectTypeOf<CanonicalStore['snapshot']>().toEqualTypeOf<() => StateSnapshot>()
    expectTypeOf<CanonicalStore['whilePaused']>().parameter(0).toEqualTypeOf<(head: EventId) => unknown>()
    expectTypeOf<ReturnType<CanonicalStore['whilePaused']>>().toMatchTypeOf<Promise<unknown>>()
    expectTypeOf<StateSnapshot>().toMatchTypeOf<Disposable>()
  })

  it('a StateSnapshot works with `using`: leaving the scope closes it', () => {
    const live = new Map([['a', TypedValue.i64(1n)]])
    let escaped: StateSnapshot | undefined
    {
      using snap: StateSnapshot = new MapSnapshot(live)
      escaped = snap
      live.set('a', TypedValue.i64(2n))
      expect(snap.get('a')?.asI64()).toBe(1n)
      expect([...snap.scan('')].map((e) => e.key)).toEqual(['a'])
    }
    expect(() => escaped.get('a')).toThrow(ClosedError)
  })
})
