import type { Logger } from 'azothdb'

/** One record a {@link CapturingLogger} kept: its level, message and fields (child bindings merged in). */
export interface LogRecord {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error'
  readonly msg: string
  readonly fields: Readonly<Record<string, unknown>>
}

/** A pino-shaped logger that keeps every record, at every level, for a test to read. */
export class CapturingLogger {
  readonly records: LogRecord[] = []

  logger(bindings: Record<string, unknown> = {}): Logger {
    const at =
      (level: LogRecord['level']) =>
      (objOrMsg: object | string, msg?: string): void => {
        if (typeof objOrMsg === 'string') this.records.push({ level, msg: objOrMsg, fields: { ...bindings } })
        else this.records.push({ level, msg: msg ?? '', fields: { ...bindings, ...objOrMsg } })
      }
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => this.logger({ ...bindings, ...more }),
    }
  }

  /** The records with message `msg`. */
  named(msg: string): LogRecord[] {
    return this.records.filter((r) => r.msg === msg)
  }

  /** The one record with message `msg` (fails when there are none or several). */
  one(msg: string): LogRecord {
    const found = this.named(msg)
    if (found.length !== 1) {
      throw new Error(
        `${found.length} records '${msg}'; messages were: ${this.records.map((r) => r.msg).join(' | ')}`,
      )
    }
    return found[0]!
  }
}
