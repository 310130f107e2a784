/**
 * Ctrl-C (SIGINT) and SIGTERM for one run. A command that can stop cleanly between steps (a
 * `--follow` feed, a projector run) asks for {@link signal}: the first signal aborts it and it
 * closes the database on its way out; a second one exits at once. Every other command ends at once,
 * as if no handler were installed (a synchronous listing could not look at a flag anyway).
 */
export class Interruption {
  readonly #abort = new AbortController()
  #cooperative = false

  /** The signal a cooperative command watches; asking for it makes Ctrl-C abort rather than exit. */
  signal(): AbortSignal {
    this.#cooperative = true
    return this.#abort.signal
  }

  /** True once a signal aborted the command. */
  get interrupted(): boolean {
    return this.#abort.signal.aborted
  }

  /** Listens for the signals; returns the function that stops listening. */
  install(): () => void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (!this.#cooperative || this.#abort.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143)
      this.#abort.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    return () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
