/** One log method in pino's shape: `log(obj, msg)` or `log(msg)`. */
export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

/** The logger Azoth writes to: a pino logger fits as is. */
export interface Logger {
  /** Finest detail; usually disabled. */
  trace: LogFn
  /** Diagnostic detail for troubleshooting (e.g. a failed batch being re-applied event by event). */
  debug: LogFn
  /** Notable normal events (e.g. a dead letter replayed, a projection reset for a rebuild). */
  info: LogFn
  /** Something went wrong and was handled (an event skipped or dead-lettered, a circuit opened). */
  warn: LogFn
  /** A failure, logged with `err` and context; background failures surface only here and in metrics. */
  error: LogFn
  /** A logger that adds `bindings` (e.g. `{ component: 'projector', name }`) to every line. */
  child(bindings: Record<string, unknown>): Logger
}

const noop = (): void => {}

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
})
