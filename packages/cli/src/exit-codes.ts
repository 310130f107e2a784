/** The process exit codes of `azothdb`: scripts branch on them. */
export const EXIT = {
  /** The command did what it was asked and found nothing wrong. */
  ok: 0,
  /** A problem was found (dead letters, a failed projector run) or the operation failed. */
  problem: 1,
  /** The command line itself was wrong: unknown command or option, a malformed value. */
  usage: 2,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]
