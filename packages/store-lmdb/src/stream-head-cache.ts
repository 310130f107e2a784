import type { StreamHead } from './stream-runs.js'

/** A stream's last committed head, read from LMDB (undefined: no stream). */
export type CommittedStreamReader = (stream: string, name: Uint8Array) => StreamHead | undefined

/**
 * The writer's copies of the committed heads of the streams it appended to or checked lately.
 * Every append reads its stream's head to check the expected version; from LMDB that is a read, a
 * copy and a checksum (about 2 µs, a third of an append's own work in a group commit). The
 * writer is the only one that writes heads, and it updates its copies from the heads a group
 * wrote once that group committed, so a copy is what LMDB holds. A failed group changes neither.
 * At most `capacity` streams are kept; the one first kept goes first.
 */
export class CommittedStreamHeads {
  readonly #heads = new Map<string, StreamHead>()

  constructor(
    private readonly read: (name: Uint8Array) => StreamHead | undefined,
    private readonly capacity: number,
  ) {}

  /** The stream's committed head (undefined: no stream). */
  get(stream: string, name: Uint8Array): StreamHead | undefined {
    const cached = this.#heads.get(stream)
    if (cached !== undefined) return cached
    const head = this.read(name)
    if (head !== undefined) this.#keep(stream, head)
    return head
  }

  /** The heads a group wrote, once its LMDB transaction committed. */
  committed(heads: Iterable<readonly [string, StreamHead]>): void {
    for (const [stream, head] of heads) this.#keep(stream, head)
  }

  #keep(stream: string, head: StreamHead): void {
    const heads = this.#heads
    if (heads.size >= this.capacity && !heads.has(stream)) heads.delete(heads.keys().next().value as string)
    // A block that is a view into a much larger buffer (lmdb-js's copy of a read, Node's pool
    // slab) would keep all of it alive: keep a copy of its few bytes instead.
    const block = head.block
    heads.set(
      stream,
      block.buffer.byteLength > 2 * block.byteLength + 64 ? { ...head, block: new Uint8Array(block) } : head,
    )
  }
}
