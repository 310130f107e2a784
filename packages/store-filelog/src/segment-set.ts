import { AzothError, ClosedError } from '@azothdb/core'
import type { FileSystem } from '@azothdb/core/internal'
import { removeSidecar } from './index-sidecar.js'
import type { ResolvedFileEventLogOptions } from './options.js'
import type { Segment } from './segment.js'

/**
 * The segments of one log in id order, and the descriptors that read them: the last segment stays
 * open, sealed ones are opened on demand and at most `maxOpenSegments` of them at a time (least
 * recently used closed first), so a long log does not hold a descriptor per segment.
 */
export class SegmentSet {
  /** In id order; never empty (the last one carries the head). */
  list: Segment[]
  closed = false
  /** Sealed segments open for reading, least recently used first. */
  readonly #readFds = new Map<Segment, true>()
  readonly #maxOpen: number
  readonly #fs: FileSystem

  constructor(segments: Segment[], opts: ResolvedFileEventLogOptions) {
    this.list = segments
    this.#maxOpen = opts.maxOpenSegments
    this.#fs = opts.fs
  }

  /** The segment that holds the last id (where appends go). */
  get last(): Segment {
    return this.list[this.list.length - 1]!
  }

  /** The last id stored, `oldest() - 1` when empty. */
  head(): number {
    return this.list[this.list.length - 1]!.lastId
  }

  /** The first id stored, or `head() + 1` when empty. */
  oldest(): number {
    return this.list[0]!.firstId
  }

  /** Raises `CLOSED` once the log is closed. */
  assertOpen(): void {
    if (this.closed) throw new ClosedError('file event log')
  }

  /** The segment holding `id`, or undefined. */
  segmentFor(id: number): Segment | undefined {
    const segs = this.list
    let lo = 0
    let hi = segs.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (segs[mid]!.firstId <= id) lo = mid
      else hi = mid - 1
    }
    const s = segs[lo]
    return s !== undefined && s.firstId <= id && id <= s.lastId ? s : undefined
  }

  /** An open descriptor of `segment` (opened for reading on demand); `NOT_FOUND` once it is gone. */
  fdFor(segment: Segment): number {
    const lru = this.#readFds
    if (segment.fd >= 0) {
      if (lru.has(segment)) {
        lru.delete(segment)
        lru.set(segment, true)
      }
      return segment.fd
    }
    this.assertOpen()
    if (segment.retired) {
      throw new AzothError('NOT_FOUND', `segment ${segment.path} was deleted`, {
        details: { file: segment.path },
      })
    }
    if (lru.size >= this.#maxOpen) {
      for (const oldest of lru.keys()) {
        this.closeFd(oldest)
        break
      }
    }
    try {
      segment.fd = this.#fs.openSync(segment.path, 'r')
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT'
      throw new AzothError(missing ? 'NOT_FOUND' : 'IO', `cannot open segment ${segment.path}`, {
        cause: e,
        details: { file: segment.path },
      })
    }
    segment.writable = false
    lru.set(segment, true)
    return segment.fd
  }

  /** Closes a sealed segment that is not kept in the read cache (reopened on demand). */
  closeUnlessCached(segment: Segment): void {
    if (segment.fd >= 0 && !this.#readFds.has(segment)) this.closeFd(segment)
  }

  closeFd(segment: Segment): void {
    const fd = segment.fd
    segment.fd = -1
    segment.writable = false
    this.#readFds.delete(segment)
    this.#fs.closeSync(fd)
  }

  /** Closes every descriptor. */
  closeAll(): void {
    for (const s of this.list) if (s.fd >= 0) this.closeFd(s)
  }

  /** Forgets a segment this view no longer holds (the writer deleted it): iterators over it stop. */
  forget(segment: Segment): void {
    if (segment.fd >= 0) this.closeFd(segment)
    segment.retired = true
  }

  /** Closes and deletes a segment and its sidecar. */
  retire(segment: Segment): void {
    this.forget(segment)
    this.#fs.unlinkSync(segment.path)
    removeSidecar(this.#fs, segment.path)
  }
}
