import type { Logger } from '@azothdb/core'
import pino from 'pino'

let shared: Logger | undefined

/** pino at `AZOTH_LOG_LEVEL` (default `warn`), writing to stderr so it never mixes with program output. */
export function defaultLogger(): Logger {
  shared ??= pino(
    { name: 'azoth', level: process.env.AZOTH_LOG_LEVEL ?? 'warn' },
    pino.destination(2),
  ) as unknown as Logger
  return shared
}
