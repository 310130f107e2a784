import { type StreamHead, type WriterHead, writerHead } from './stream-runs.js'

/** A stream's last committed head, read from LMDB (undefined: no stream). */
export type CommittedStreamReader = (stream: string, name: Uint8Array) => WriterHead | undefined

/**
 * The writer's copies of the committed heads of the streams it appended to or checked lately.
 * Every append reads its stream's head to check the expected version; from LMDB that is a read, a
 * copy and a checksum (about 2 µs, a third of an append's own work in a group commit). The
 * writer is the only one that writes heads, and it updates its copies from the heads a group
 * wrote once that group committed, so a copy is what LMDB holds. A failed group changes neither.
 * At most `capacity` streams are kept; the one first kept goes first.
 */
export class CommittedStreamHeads {
  readonly #heads = new Map<string, WriterHead>()

  constructor(
    private readonly read: (name: Uint8Array) => StreamHead | undefined,
    private readonly capacity: number,
  ) {}

  /** The stream's committed head (undefined: no stream). */
  get(stream: string, name: Uint8Array): WriterHead | undefined {
    const cached = this.#heads.get(stream)
    if (cached !== undefined) return cached
    const stored = this.read(name)
    if (stored === undefined) return undefined
    const head = writerHead(stored)
    this.#keep(stream, head)
    return head
  }

  /** Keeps a head a group wrote, once its LMDB transaction committed (bound: a callback). */
  readonly keep = (stream: string, head: WriterHead): void => {
    this.#keep(stream, head)
  }

  #keep(stream: string, head: WriterHead): void {
    const heads = this.#heads
    if (heads.size >= this.capacity && !heads.has(stream)) heads.delete(heads.keys().next().value as string)
    heads.set(stream, head)
  }
}
