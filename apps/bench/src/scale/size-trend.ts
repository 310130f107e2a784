import type { Measure } from '../harness.js'
import { sizeLabel } from './scale-data.js'

/** How far throughput at the largest size may fall below the size before it (issue 23: 25%). */
export const MAX_DROP = 0.25

/**
 * Remembers each metric's median throughput per size as the cases run (sizes run in ascending
 * order), so the case at 10^7 can say how it compares with 10^6 — a target the harness's
 * per-case ratio cannot express.
 */
export class SizeTrend {
  readonly #medians = new Map<string, number>()
  readonly #now: () => number

  /** `now` (milliseconds) times the runs; a test passes a fake one. */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  /**
   * Wraps `measure` so its timed runs are recorded for (`metric`, `n`), and its report says how the
   * median compares with the one recorded for (`metric`, `previous`).
   */
  track(measure: Measure, metric: string, n: number, previous: number | undefined): Measure {
    const rates: number[] = []
    const medians = this.#medians
    const now = this.#now
    return {
      ...measure,
      run: async () => {
        const t0 = now()
        const units = await measure.run()
        rates.push(units / ((now() - t0) / 1000))
        // Warm-up runs are recorded too: the median over every run is what this comparison uses.
        medians.set(`${metric}@${n}`, median(rates))
        return units
      },
      report: () => {
        const own = measure.report?.() ?? {}
        const before = previous === undefined ? undefined : medians.get(`${metric}@${previous}`)
        const current = medians.get(`${metric}@${n}`)
        if (previous === undefined || before === undefined || current === undefined) return own
        const ratio = current / before
        return {
          ...own,
          [`vs${sizeLabel(previous)}`]: `${ratio.toFixed(2)} (${ratio >= 1 - MAX_DROP ? 'within' : 'MISSED'} 25%)`,
        }
      },
    }
  }
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
