import { AzothError, ConfigError, type ProjectionTxControl } from '@azothdb/core'
import type { Projector } from './projector.js'
import type { ProjectorMetrics } from './projector-metrics.js'
import type { RunOnceOptions, RunStats } from './run-stats.js'

/**
 * Several projectors side by side, each with its own cursor (in one projection store or in
 * several): start and stop them together, rebuild one by name, collect their metrics.
 */
export class ProjectorGroup<Tx extends ProjectionTxControl = ProjectionTxControl> {
  private readonly byName = new Map<string, Projector<Tx>>()

  /** Raises `CONFIG` when two projectors share a name (they would share a cursor). */
  constructor(processors: readonly Projector<Tx>[] = []) {
    for (const p of processors) this.add(p)
  }

  /** Adds a projector; returns the group for chaining. Raises `CONFIG` if its name is already taken. */
  add(processor: Projector<Tx>): this {
    if (this.byName.has(processor.name)) {
      throw new ConfigError(`two projectors are named '${processor.name}'`, {
        details: { name: processor.name },
      })
    }
    this.byName.set(processor.name, processor)
    return this
  }

  /** The projector of that name, or undefined. */
  find(name: string): Projector<Tx> | undefined {
    return this.byName.get(name)
  }

  /** The projector of that name; `NOT_FOUND` when there is none. */
  get(name: string): Projector<Tx> {
    const p = this.byName.get(name)
    if (p === undefined)
      throw new AzothError('NOT_FOUND', `no projector named '${name}'`, { details: { name } })
    return p
  }

  /** The projectors' names, in the order they were added. */
  get names(): string[] {
    return [...this.byName.keys()]
  }

  /** Catches every projector up once, one after the other; returns their stats by name. */
  async runOnce(): Promise<Record<string, RunStats>> {
    const out: Record<string, RunStats> = {}
    for (const [name, p] of this.byName) out[name] = await p.runOnce()
    return out
  }

  /** Starts every projector in continuous mode (each in the background). */
  startAll(): void {
    for (const p of this.byName.values()) p.start()
  }

  /** Stops every projector after its batch in flight; resolves when all have stopped. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.byName.values()].map((p) => p.stop()))
  }

  /** Empties one projection (its handlers' `reset`) and replays it from event 1. */
  rebuild(name: string, options?: RunOnceOptions): Promise<RunStats> {
    return this.get(name).rebuild(options)
  }

  /** Every projector's metrics, in the order they were added: feed them to your monitoring. */
  metrics(): ProjectorMetrics[] {
    return [...this.byName.values()].map((p) => p.metrics())
  }
}
