import { ConfigError, type EventFilterOptions, type EventHandler } from '@azothdb/core'
import { compileEventFilter, type EnvelopeHeader, type HeaderFilter } from '@azothdb/core/internal'

const NONE: readonly never[] = []

/**
 * Finds the handlers of an event from its header: one map lookup per event once a type has been
 * seen. Types no handler wants, and events the projector's filter leaves out, get an empty list, so
 * they are skipped without being decoded.
 */
export class HandlerRouter<Tx> {
  private readonly byType = new Map<string, readonly EventHandler<Tx>[]>()
  private readonly wildcard: readonly EventHandler<Tx>[]
  private readonly filter: HeaderFilter | undefined

  /** Bad handlers or filter fields raise `CONFIG`. */
  constructor(
    readonly handlers: readonly EventHandler<Tx>[],
    filter?: EventFilterOptions,
  ) {
    this.filter = compileEventFilter(filter, 'CONFIG', 'projector filter')
    for (const h of handlers) {
      if (h === null || typeof h !== 'object' || typeof h.handle !== 'function') {
        throw new ConfigError('an event handler needs a handle(event, tx) function')
      }
      if (h.eventTypes !== '*' && !Array.isArray(h.eventTypes)) {
        throw new ConfigError(`handler ${h.name ?? '(unnamed)'}: eventTypes must be '*' or an array of types`)
      }
    }
    this.wildcard = handlers.filter((h) => h.eventTypes === '*')
  }

  // Logs often repeat one type: comparing with the last one avoids hashing a freshly decoded string.
  private lastType: string | undefined
  private lastList: readonly EventHandler<Tx>[] = []

  /** Handlers of the event with this header, in registration order. */
  route(header: EnvelopeHeader): readonly EventHandler<Tx>[] {
    if (this.filter !== undefined && !this.filter(header)) return NONE
    const type = header.type
    if (type === this.lastType) return this.lastList
    let list = this.byType.get(type)
    if (list === undefined) {
      list = this.handlers.filter((h) => h.eventTypes === '*' || h.eventTypes.includes(type))
      // Bounded: a log with unbounded distinct types would otherwise grow this map forever.
      if (this.byType.size > 10_000) this.byType.clear()
      this.byType.set(type, list)
    }
    this.lastType = type
    this.lastList = list
    return list
  }

  /** True when some handler takes every type (so every event must be decoded). */
  get hasWildcard(): boolean {
    return this.wildcard.length > 0
  }
}
