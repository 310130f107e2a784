/** How often RSS is sampled while an async run yields to the event loop. */
const SAMPLE_INTERVAL_MS = 5

/**
 * Tracks the highest resident set size seen between `start()` and `stop()`. It samples at both ends
 * and on a timer; the timer only fires while the measured code awaits, so for synchronous runs the
 * figure is what the process holds right after the run (before the next GC), a fair proxy.
 */
export class RssSampler {
  private peak = 0
  private timer: NodeJS.Timeout | undefined

  /** Begins a sampling window. */
  start(): void {
    this.peak = process.memoryUsage.rss()
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage.rss())
    }, SAMPLE_INTERVAL_MS)
    this.timer.unref()
  }

  /** Ends the window and returns its peak RSS in bytes. */
  stop(): number {
    clearInterval(this.timer)
    this.timer = undefined
    this.peak = Math.max(this.peak, process.memoryUsage.rss())
    return this.peak
  }
}
