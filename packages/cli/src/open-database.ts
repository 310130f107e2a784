import { Azoth, isAzothError, LockedError, type Logger, silentLogger } from 'azothdb'
import type { CliContext } from './cli-context.js'

/**
 * The database's logger: silent unless `--verbose` or `AZOTH_LOG_LEVEL` asks for it (then the
 * database's default pino logger on stderr), so log lines do not interleave with tables and
 * progress bars; errors reach the user through the command's own message either way.
 */
export function databaseLogger(ctx: CliContext): Logger | undefined {
  return ctx.verbose || process.env.AZOTH_LOG_LEVEL !== undefined ? undefined : silentLogger
}

/**
 * Opens a database to read it: a read-only open, which works while a writer process holds the
 * directory and never creates anything (a missing database is `NOT_FOUND`).
 */
export function openForReading(ctx: CliContext, dir: string): Promise<Azoth> {
  const logger = databaseLogger(ctx)
  return Azoth.openReadOnly(dir, logger === undefined ? {} : { logger })
}

/** Why a command must write, for its `LOCKED` message: what it does, and what the application can do instead. */
export interface WriteReason {
  /** E.g. `dlq remove deletes from the projection`. */
  readonly does: string
  /** E.g. `call db.deadLetters.remove() in the application`. */
  readonly instead?: string
}

/**
 * Opens an existing database for writing, for a command that must write. Only one process may:
 * while the application (or anything else) holds the directory this refuses with `LOCKED`, saying
 * why and what to do, rather than write behind the writer's back.
 */
export async function openForWriting(ctx: CliContext, dir: string, reason: WriteReason): Promise<Azoth> {
  const logger = databaseLogger(ctx)
  try {
    return await Azoth.open(dir, { create: false, ...(logger === undefined ? {} : { logger }) })
  } catch (e) {
    if (isAzothError(e, 'LOCKED')) {
      const instead = reason.instead === undefined ? '' : `, or ${reason.instead}`
      throw new LockedError(
        `${reason.does}, and ${lowerFirst(e.message)}: stop that process first${instead}`,
        {
          cause: e,
          ...(e.details === undefined ? {} : { details: e.details }),
        },
      )
    }
    throw e
  }
}

/**
 * Runs `fn` with the database `opening` resolves to and closes it however `fn` ends. When `fn`
 * failed, a failing close is reported on stderr but does not replace the error that explains why
 * the command failed.
 */
export async function withDatabase<T>(
  ctx: CliContext,
  opening: Promise<Azoth>,
  fn: (db: Azoth) => Promise<T>,
): Promise<T> {
  const db = await opening
  let result: T
  try {
    result = await fn(db)
  } catch (e) {
    await db.close().catch((closeError: unknown) => {
      ctx.note(`closing the database also failed: ${(closeError as Error).message}`)
    })
    throw e
  }
  await db.close()
  return result
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s
}
