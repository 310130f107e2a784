import {
  AzothError,
  ClosedError,
  decodeTypedValue,
  type EventMetadata,
  type ExpectedStreamVersion,
  encodeEnvelope,
  encodeTypedValue,
  isTypedValue,
  type Key,
  type Limits,
  type StreamAppendOutcome,
  type StreamEventInput,
  type TypedValue,
  type WriteContext,
} from '@azothdb/core'
import {
  checkEventSize,
  checkValueSize,
  describeValue,
  encodeKey,
  keyId,
  readEventType,
} from '@azothdb/core/internal'
import { encodeStreamEvents } from './stream-events.js'
import type { CommittedStreamReader } from './stream-head-cache.js'
import { GroupStreams, TxStreams } from './stream-writes.js'
import { sealValue, VALUE_CHECKSUM_BYTES } from './value-checksum.js'

/** A buffered write: `value` (the stored form: encoding and checksum) null deletes the key. */
export interface PendingWrite {
  readonly key: Uint8Array
  readonly value: Uint8Array | null
}

/** The encoding inside a pending write's stored form. */
function encodingOf(stored: Uint8Array): Uint8Array {
  return stored.subarray(0, stored.length - VALUE_CHECKSUM_BYTES)
}

/** Reads committed state: the store's LMDB database. */
export interface CommittedReader {
  /**
   * The committed value's encoding, its checksum checked; the buffer may be reused by the next
   * read, so use it at once.
   */
  readCommitted(key: Uint8Array): Uint8Array | undefined
  /** A stream's last committed head (its version and open block), or undefined when it has none. */
  readonly streamHead: CommittedStreamReader
}

/**
 * The state of one group commit as its transactions run: the writes of the members that
 * succeeded so far (visible to later members) and their events.
 */
export class GroupBuffer {
  readonly overlay = new Map<string, PendingWrite>()
  readonly events: Uint8Array[] = []
  readonly streams = new GroupStreams()

  constructor(
    /** Id the next event of the group gets. */
    public nextEventId: number,
    readonly timestamp: number,
  ) {}
}

/**
 * The {@link WriteContext} handed to each transaction of a group. One instance serves every
 * member in turn (`begin` resets it), so a transaction costs no context allocation.
 */
export class UnitContext implements WriteContext {
  private writes: Map<string, PendingWrite> | undefined
  private events: Uint8Array[] | undefined
  private eventBytes = 0
  /** True while an append to a stream runs (its events' data may run code: getters, toJSON). */
  private appending = false
  /** True from `begin` to `end`: while the transaction's function (and its result's encoding) runs. */
  private live = false
  private group!: GroupBuffer
  private keyBytes: Uint8Array = new Uint8Array(0)
  private readonly streams: TxStreams

  constructor(
    private readonly reader: CommittedReader,
    private readonly limits: Limits,
  ) {
    this.streams = new TxStreams(reader.streamHead)
  }

  begin(group: GroupBuffer): void {
    this.group = group
    this.live = true
    this.appending = false
    this.streams.begin(group.streams)
    this.writes = undefined
    this.events = undefined
    this.eventBytes = 0
  }

  /**
   * Ends the transaction's use of the context. The same instance serves the next member, so a
   * context its function kept would otherwise read another group's state, or buffer writes that
   * no commit carries while it returned as if they were written.
   */
  end(): void {
    this.live = false
  }

  private checkLive(): void {
    if (!this.live) throw new ClosedError("this transaction's context (its function has returned)")
  }

  private ref(key: Key): string {
    this.keyBytes = encodeKey(key, this.limits)
    return keyId(key)
  }

  /** The caller may reuse a Uint8Array key after the call: keep a copy of those. */
  private ownKeyBytes(key: Key): Uint8Array {
    return typeof key === 'string' ? this.keyBytes : new Uint8Array(this.keyBytes)
  }

  private lookup(id: string): PendingWrite | undefined {
    return this.writes?.get(id) ?? this.group.overlay.get(id)
  }

  getBytes(key: Key): Uint8Array | undefined {
    this.checkLive()
    const pending = this.lookup(this.ref(key))
    if (pending !== undefined) return pending.value === null ? undefined : encodingOf(pending.value)
    const committed = this.reader.readCommitted(this.keyBytes)
    // A copy: the reader's buffer is reused by the next read.
    return committed === undefined ? undefined : new Uint8Array(committed)
  }

  get(key: Key): TypedValue | undefined {
    this.checkLive()
    const pending = this.lookup(this.ref(key))
    if (pending !== undefined) {
      return pending.value === null ? undefined : decodeTypedValue(encodingOf(pending.value))
    }
    const bytes = this.reader.readCommitted(this.keyBytes)
    return bytes === undefined ? undefined : decodeTypedValue(bytes)
  }

  exists(key: Key): boolean {
    this.checkLive()
    const pending = this.lookup(this.ref(key))
    if (pending !== undefined) return pending.value !== null
    return this.reader.readCommitted(this.keyBytes) !== undefined
  }

  put(key: Key, value: TypedValue): void {
    this.checkLive()
    const id = this.ref(key)
    if (!isTypedValue(value)) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        'state values must be TypedValue instances (use TypedValue.of)',
        {
          details: { key: id },
        },
      )
    }
    const bytes = encodeTypedValue(value)
    checkValueSize(bytes.length, this.limits, key)
    if (this.writes === undefined) this.writes = new Map()
    const keyBytes = this.ownKeyBytes(key)
    this.writes.set(id, { key: keyBytes, value: sealValue(keyBytes, bytes) })
  }

  delete(key: Key): void {
    this.checkLive()
    const id = this.ref(key)
    if (this.writes === undefined) this.writes = new Map()
    this.writes.set(id, { key: this.ownKeyBytes(key), value: null })
  }

  appendEvent(type: string, payload: unknown, metadata?: EventMetadata): void {
    this.checkLive()
    this.pushEvent(type, encodeEnvelope({ type, timestamp: this.group.timestamp, payload, metadata }))
  }

  appendRawEvent(type: string, payload: Uint8Array, metadata?: EventMetadata): void {
    this.checkLive()
    this.pushEvent(
      type,
      encodeEnvelope({ type, timestamp: this.group.timestamp, payload, metadata, rawPayload: true }),
    )
  }

  appendToStream(
    stream: string,
    events: readonly StreamEventInput[],
    expected?: ExpectedStreamVersion,
  ): StreamAppendOutcome {
    this.checkLive()
    // An append checks its stream's version before encoding its events and records the append
    // after: another append run in between (from a getter or toJSON of the data) would take the
    // same version, or hand this one its stream's name. Refused, so that cannot happen.
    if (this.appending) {
      throw new AzothError(
        'INVALID_ARGUMENT',
        'appendToStream was called while the events of another append were being encoded',
        { details: { stream: typeof stream === 'string' ? stream : describeValue(stream) } },
      )
    }
    this.appending = true
    try {
      return this.appendPlanned(stream, events, expected)
    } finally {
      this.appending = false
    }
  }

  private appendPlanned(
    stream: string,
    events: readonly StreamEventInput[],
    expected: ExpectedStreamVersion | undefined,
  ): StreamAppendOutcome {
    const actual = this.streams.plan(stream, expected)
    const first = actual === undefined ? 0n : actual + 1n
    // Sizes are checked as the events are encoded, before any is kept, so a refused append leaves
    // none behind.
    const before = this.eventBytes
    const envelopes = encodeStreamEvents(stream, first, events, this.group.timestamp, this.limits, before)
    const count = envelopes.length
    let bytes = this.eventBytes
    for (let i = 0; i < count; i++) bytes += envelopes[i]!.length
    // The data's code (a getter) logged a raw event while it was encoded: the total checked
    // did not count it.
    if (this.eventBytes !== before)
      checkEventSize(0, bytes, this.limits, readEventType(envelopes[count - 1]!))
    const at = this.events?.length ?? 0
    const kept = (this.events ??= [])
    for (let i = 0; i < count; i++) kept.push(envelopes[i]!)
    this.eventBytes = bytes
    this.streams.record(stream, first, count, at)
    return {
      nextExpectedStreamVersion: count === 1 ? first : first + BigInt(count - 1),
      createdNewStream: actual === undefined,
    }
  }

  private pushEvent(type: string, envelope: Uint8Array): void {
    this.eventBytes += envelope.length
    checkEventSize(envelope.length, this.eventBytes, this.limits, type)
    if (this.events === undefined) this.events = []
    this.events.push(envelope)
  }

  /**
   * Moves this transaction's writes and events into the group; returns its counts.
   * Called only when the transaction returned normally.
   */
  merge(): { firstEventId: number | undefined; events: number; written: number; deleted: number } {
    const group = this.group
    let written = 0
    let deleted = 0
    if (this.writes !== undefined) {
      for (const [id, w] of this.writes) {
        group.overlay.set(id, w)
        if (w.value === null) deleted++
        else written++
      }
    }
    const events = this.events?.length ?? 0
    let firstEventId: number | undefined
    if (events > 0) {
      firstEventId = group.nextEventId
      for (const e of this.events!) group.events.push(e)
      group.nextEventId += events
    }
    this.streams.merge(firstEventId)
    return { firstEventId, events, written, deleted }
  }
}
