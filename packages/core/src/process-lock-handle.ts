/** A held lock that keeps a directory to one writer process. */
export interface ProcessLock {
  /** The lock file's path; it holds the owner's pid and host as JSON, for diagnosing `LOCKED`. */
  readonly path: string
  /** Gives the lock up and removes the lock file; safe to call twice. */
  release(): void
}
