import type { Logger } from 'azothdb'

/**
 * A logger for the examples: warnings and errors as one short line on stderr (Azoth's default is
 * pino JSON on stderr, level from `AZOTH_LOG_LEVEL`). Any pino-compatible logger can be passed as
 * the `logger` option of `Azoth.open`.
 */
export function compactLogger(bindings: Record<string, unknown> = {}): Logger {
  const where = typeof bindings.projector === 'string' ? ` [${bindings.projector}]` : ''
  const line =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (typeof objOrMsg === 'string') {
        process.stderr.write(`azoth ${level}${where}: ${objOrMsg}\n`)
        return
      }
      const err = (objOrMsg as { err?: unknown }).err
      const reason = err instanceof Error ? ` (${err.message})` : ''
      process.stderr.write(`azoth ${level}${where}: ${msg ?? ''}${reason}\n`)
    }
  const quiet = (): void => {}
  return {
    trace: quiet,
    debug: quiet,
    info: quiet,
    warn: line('warn'),
    error: line('error'),
    child: (more) => compactLogger({ ...bindings, ...more }),
  }
}
