/** One named check's outcome. */
interface CheckOutcome {
  readonly name: string
  readonly passed: boolean
}

/**
 * Runs named checks and prints each outcome as it ends: a passing check is one line; a failing one
 * is followed by what went wrong, indented, so a CI log shows the cause next to the name.
 */
export class CheckReport {
  readonly #outcomes: CheckOutcome[] = []

  /** Runs `fn`; a throw (or rejection) fails the check with its message. Never rejects. */
  async check(name: string, fn: () => Promise<void>): Promise<boolean> {
    const started = performance.now()
    try {
      await fn()
      this.#record(name, true, started)
      return true
    } catch (err) {
      this.#record(name, false, started)
      const text = err instanceof Error ? (err.message ?? String(err)) : String(err)
      console.log(
        text
          .trimEnd()
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n'),
      )
      return false
    }
  }

  /** Records a check that could not run because a step it needs failed. */
  skipped(name: string, because: string): void {
    this.#outcomes.push({ name, passed: false })
    console.log(`  FAIL ${name}: not run (${because})`)
  }

  get passed(): number {
    return this.#outcomes.filter((o) => o.passed).length
  }

  get failed(): number {
    return this.#outcomes.length - this.passed
  }

  failedNames(): string[] {
    return this.#outcomes.filter((o) => !o.passed).map((o) => o.name)
  }

  #record(name: string, passed: boolean, started: number): void {
    this.#outcomes.push({ name, passed })
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(`  ${passed ? 'ok  ' : 'FAIL'} ${name} (${seconds} s)`)
  }
}
