import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  AzothError,
  type Clock,
  type EventFilterOptions,
  isAzothError,
  type StreamEventInput,
  silentLogger,
} from '@azothdb/core'
import type { Migration, SqlParams } from '@azothdb/projection-sqlite'
import { Azoth } from './azoth.js'
import { assertEqual, eventList, failure, show } from './spec-events.js'
import type { SqlEventHandler } from './sql-projection.js'

/** An event of a projection specification: a stream event when `stream` is set, a plain one otherwise. */
export interface ProjectionEventInput<D = unknown> extends StreamEventInput<D> {
  /** The stream it is appended to (versions follow in order); omitted: logged outside any stream. */
  readonly stream?: string | undefined
}

/** The projection a {@link ProjectionSpecification} runs: what `db.projector()` and `db.migrate()` take. */
export interface ProjectionSpecificationOptions {
  /** The projector's handlers. */
  readonly handlers: readonly SqlEventHandler[]
  /** Migrations creating the projection's tables, applied first. */
  readonly migrations?: readonly Migration[] | undefined
  /** The projector's filter (streams, stream prefix, event types). */
  readonly filter?: EventFilterOptions | undefined
  /** The database clock (event timestamps); default the wall clock. */
  readonly clock?: Clock | undefined
}

/** Runs a read-only SQL query against the projection. */
export type ProjectionQuery = <Row = Record<string, unknown>>(
  sql: string,
  params?: SqlParams,
) => Promise<Row[]>

/** The events a projection specification starts from. */
export interface ProjectionGiven {
  /** Events already projected before the ones under test (none: an empty array or nothing). */
  given(events?: ProjectionEventInput | readonly ProjectionEventInput[]): ProjectionWhen
}

/** The events under test. */
export interface ProjectionWhen {
  /** The events whose projection is checked. */
  when(events: ProjectionEventInput | readonly ProjectionEventInput[]): ProjectionThen
}

/**
 * The expectation of a projection specification. Each method opens a fresh database in a temporary
 * directory, applies the migrations, appends and projects the given events, then the `when` events,
 * checks, and removes the directory; a failed expectation rejects with an `AssertionError`.
 */
export interface ProjectionThen {
  /** Runs `check` with a query function over the projection; its own assertions decide. */
  then(check: (query: ProjectionQuery) => void | Promise<void>): Promise<void>
  /** The query returns exactly these rows, in order (compared as plain objects). */
  thenRows(sql: string, expected: readonly Record<string, unknown>[], params?: SqlParams): Promise<void>
  /**
   * Projecting the `when` events fails: `check` gets what the handler threw and may return false (or
   * throw) to refuse it.
   */
  thenThrows(check?: (error: unknown) => unknown): Promise<void>
}

const WHAT = 'ProjectionSpecification'

async function append(db: Azoth, events: readonly ProjectionEventInput[]): Promise<void> {
  if (events.length === 0) return
  const streams = new Set<string>()
  for (const e of events) if (e.stream !== undefined) streams.add(e.stream)
  await db
    .transaction()
    .streams(streams)
    .execute((tx) => {
      for (const { stream, type, data, metadata } of events) {
        if (stream === undefined) tx.log(type, data ?? null, metadata)
        else tx.appendToStream(stream, [{ type, data, metadata }])
      }
    })
}

/** A database in a temporary directory with the given events projected, handed to `use`, then removed. */
async function withProjection<R>(
  options: ProjectionSpecificationOptions,
  given: readonly ProjectionEventInput[],
  use: (db: Azoth, project: () => Promise<unknown>) => Promise<R>,
): Promise<R> {
  const dir = await mkdtemp(join(tmpdir(), 'azothdb-projection-spec-'))
  try {
    const db = await Azoth.open(dir, {
      durability: 'relaxed',
      logger: silentLogger,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    })
    try {
      if (options.migrations !== undefined) await db.migrate(options.migrations)
      const projector = db.projector({
        name: 'spec',
        handlers: options.handlers,
        ...(options.filter === undefined ? {} : { filter: options.filter }),
      })
      await append(db, given)
      await projector.runOnce()
      return await use(db, () => projector.runOnce())
    } finally {
      await db.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function thenFor(
  options: ProjectionSpecificationOptions,
  given: readonly ProjectionEventInput[],
  when: readonly ProjectionEventInput[],
): ProjectionThen {
  const projected = <R>(check: (db: Azoth) => Promise<R>): Promise<R> =>
    withProjection(options, given, async (db, project) => {
      await append(db, when)
      await project()
      return check(db)
    })
  return {
    // Named as in Emmett's specifications: `await spec.given(...).when(...).then(check)`.
    // biome-ignore lint/suspicious/noThenProperty: the given/when/then vocabulary
    then: (check) => projected(async (db) => check((sql, params) => db.query(sql, params))),
    thenRows: (sql, expected, params) =>
      projected(async (db) => {
        const rows = (await db.query(sql, params)).map((row) => ({ ...row }))
        assertEqual(`${WHAT}: ${sql} returned other rows than expected`, rows, expected)
      }),
    thenThrows: (check) =>
      withProjection(options, given, async (db, project) => {
        await append(db, when)
        let error: unknown
        try {
          await project()
        } catch (e) {
          // The handler's own error, not the projector's PROJECTION_FAILED around it.
          error = isAzothError(e, 'PROJECTION_FAILED') && e.cause !== undefined ? e.cause : e
        }
        if (error === undefined) {
          throw failure(
            `${WHAT}: projecting the events was expected to fail, but it succeeded`,
            undefined,
            check,
          )
        }
        if (check !== undefined && check(error) === false) {
          throw failure(
            `${WHAT}: projecting failed with ${show(error)}, which the check refused`,
            error,
            undefined,
          )
        }
      }),
  }
}

/**
 * Given/when/then tests of a projection against a real database in a temporary directory: the
 * migrations run, the given events and then the `when` events are appended and projected by a
 * projector with the handlers, and the rows are checked.
 *
 * @example
 * await ProjectionSpecification.for({ handlers: [cartTotals], migrations })
 *   .given([{ type: 'ItemAdded', stream: 'cart-1', data: { price: 3 } }])
 *   .when([{ type: 'ItemAdded', stream: 'cart-1', data: { price: 4 } }])
 *   .thenRows('SELECT cart, total FROM cart_totals', [{ cart: 'cart-1', total: 7 }])
 */
export const ProjectionSpecification = {
  /** Starts the specifications of one projection. */
  for(options: ProjectionSpecificationOptions): ProjectionGiven {
    if (options === null || typeof options !== 'object' || !Array.isArray(options.handlers)) {
      throw new AzothError('INVALID_ARGUMENT', `${WHAT} needs the projector's handlers`, {
        details: { argument: 'options.handlers' },
      })
    }
    return {
      given: (given = []) => {
        const before = eventList(given, 'given')
        return { when: (when) => thenFor(options, before, eventList(when, 'when')) }
      },
    }
  },
} as const
