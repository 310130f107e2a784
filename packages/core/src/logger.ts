/** One log method in pino's shape: `log(obj, msg)` or `log(msg)`. */
export interface LogFn {
  (obj: object, msg?: string): void
  (msg: string): void
}

/** The logger Azoth writes to: a pino logger fits as is. */
export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
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
