import type { Azoth } from './azoth.js'
import type { Projector, ProjectorBuilder } from './sql-projection.js'

/**
 * The seed's spelling of a projector builder, kept so its code runs unchanged.
 *
 * @deprecated use `db.projectorBuilder()` (the same builder) or `db.projector(options)`.
 * @example
 * const projector = EventProcessor.builder(db)
 *   .withName('balances')
 *   .withHandler(balancesHandler)
 *   .withErrorStrategy(ErrorStrategy.deadLetter())
 *   .withDeadLetterQueue()
 *   .build()
 */
export const EventProcessor = {
  /** @deprecated use `db.projectorBuilder()`. */
  builder(db: Azoth): ProjectorBuilder {
    return db.projectorBuilder()
  },
} as const

/** @deprecated a projector of the database: use {@link Projector}. */
export type EventProcessor = Projector
