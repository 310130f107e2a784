import { SingleBar } from 'cli-progress'
import type { CliContext } from './cli-context.js'
import { formatBytes } from './sizes.js'

/** What a progress bar counts: events (shown as numbers) or bytes (shown as kB, MB...). */
export type ProgressUnit = 'events' | 'bytes'

/** A progress bar with an ETA on stderr; silent off a terminal and with `--json`. */
export class Progress {
  readonly #bar: SingleBar | undefined
  readonly #unit: ProgressUnit
  #total = 0
  #started = false

  constructor(ctx: CliContext, label: string, unit: ProgressUnit) {
    this.#unit = unit
    // cli-progress writes nothing when its stream is not a terminal; --json output is for programs,
    // which get no bar on either stream.
    this.#bar = ctx.json
      ? undefined
      : new SingleBar({
          stream: process.stderr,
          format: `${label} [{bar}] {percentage}% | {done}/{all} ${unit === 'events' ? 'events ' : ''}| ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
          barsize: 30,
          fps: 10,
        })
  }

  /** Sets (or moves) the end and the current value; starts the bar on first use. */
  update(value: number, total: number): void {
    this.#total = Math.max(total, 1)
    const shown = Math.min(value, this.#total)
    const payload = { done: this.#format(shown), all: this.#format(total) }
    if (this.#bar === undefined) return
    if (!this.#started) {
      this.#started = true
      this.#bar.start(this.#total, shown, payload)
      return
    }
    this.#bar.setTotal(this.#total)
    this.#bar.update(shown, payload)
  }

  /** Completes the bar at its total (a finished step is 100% even if the last report was earlier). */
  finish(): void {
    if (this.#started) this.update(this.#total, this.#total)
    this.stop()
  }

  /** Stops drawing, leaving the bar where it is (an aborted or failed step). */
  stop(): void {
    if (this.#started) this.#bar?.stop()
    this.#started = false
  }

  #format(n: number): string {
    return this.#unit === 'bytes' ? formatBytes(n) : String(n)
  }
}

/**
 * Drives a bar from how much `measure()` (bytes written so far) has grown while `work` runs, for
 * steps of the database (backup, restore) that report no progress of their own.
 */
export async function watchGrowth<T>(
  progress: Progress,
  total: number,
  measure: () => number,
  work: Promise<T>,
): Promise<T> {
  const tick = (): void => {
    let value = 0
    try {
      value = measure()
    } catch {
      // The directory is being written meanwhile (a file renamed under us): the next tick measures again.
      return
    }
    progress.update(value, total)
  }
  tick()
  const timer = setInterval(tick, 200)
  try {
    const result = await work
    progress.finish()
    return result
  } catch (e) {
    progress.stop()
    throw e
  } finally {
    clearInterval(timer)
  }
}
