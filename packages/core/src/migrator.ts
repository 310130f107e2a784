import type { Clock } from './clock.js'
import { AzothError, type AzothErrorCode, ConfigError, isAzothError } from './errors.js'

/** Codes that mean the database failed under a migration, raised as they are rather than as `CONFIG`. */
const ENVIRONMENT_CODES: ReadonlySet<AzothErrorCode> = new Set<AzothErrorCode>([
  'IO',
  'TIMEOUT',
  'CLOSED',
  'LOCKED',
])

/**
 * One schema change of a projection store's tables, generic over the store's transaction type
 * (`SqliteTx`, `PostgresTx`, a third party's). `up` and `down` run inside their own transaction
 * (with the history row) and may be asynchronous.
 */
export interface Migration<Tx> {
  /** Position in the sequence: versions are consecutive integers (1, 2, 3...). */
  readonly version: number
  /** A short, stable description, recorded and checked on later runs: never rename an applied one. */
  readonly name: string
  /**
   * Applies the change; throwing rolls it back and `up()` raises `CONFIG` with the error as `cause`
   * (an `AzothError` `IO`, `TIMEOUT`, `CLOSED` or `LOCKED`, the database failing under it, as it is).
   */
  up(tx: Tx): void | Promise<void>
  /** Undoes `up`, for `rollbackLast()`; rolling back a migration without it raises `CONFIG`. */
  down?(tx: Tx): void | Promise<void>
}

/** A row of the migration history. */
export interface AppliedMigration {
  /** The migration's version. */
  readonly version: number
  /** The name it was applied under. */
  readonly name: string
  /** When it was applied, in milliseconds since the epoch (the store's clock). */
  readonly appliedAt: number
}

/**
 * Where a backend keeps its history, inside the migration's transaction. `read` also serializes
 * migrators of other processes (a lock held until the transaction ends), so two never apply the
 * same version.
 */
export interface MigrationHistory<Tx> {
  /** The applied migrations, oldest first, after taking the lock that serializes migrators. */
  read(tx: Tx): Promise<AppliedMigration[]>
  /** Records a migration applied in `tx`. */
  record(tx: Tx, row: AppliedMigration): Promise<void>
  /** Forgets a version rolled back in `tx`. */
  forget(tx: Tx, version: number): Promise<void>
}

/** The transactional part of a store a migrator needs. */
export interface MigrationTarget<Tx> {
  /** Runs `fn` as one transaction, committed when it returns, rolled back when it throws. */
  transaction<R>(fn: (tx: Tx) => R | Promise<R>): Promise<R>
}

/**
 * Applies and rolls back versioned migrations, each in its own transaction together with its history
 * row. Every projection store uses this one migrator, with its own `MigrationHistory` table. Duplicate versions, gaps and non-positive versions raise `CONFIG` when the migrator is made;
 * `up`/`pending` raise `CONFIG` when the database has a version the set lacks, or one under another
 * name.
 */
export class Migrator<Tx> {
  readonly #sorted: readonly Migration<Tx>[]
  readonly #target: MigrationTarget<Tx>
  readonly #history: MigrationHistory<Tx>
  readonly #clock: Clock

  constructor(
    target: MigrationTarget<Tx>,
    history: MigrationHistory<Tx>,
    migrations: readonly Migration<Tx>[],
    clock: Clock,
  ) {
    if (!Array.isArray(migrations)) throw new ConfigError('migrations must be an array')
    const sorted = [...migrations].sort((a, b) => a.version - b.version)
    for (const [i, m] of sorted.entries()) {
      if (!Number.isSafeInteger(m.version) || m.version < 1) {
        throw new ConfigError(`migration version must be a positive integer, got ${String(m.version)}`, {
          details: { field: 'version', version: m.version },
        })
      }
      if (typeof m.name !== 'string' || m.name.length === 0 || typeof m.up !== 'function') {
        throw new ConfigError(`migration ${m.version} needs a name and an up function`, {
          details: { version: m.version },
        })
      }
      const prev = sorted[i - 1]
      if (prev !== undefined && prev.version === m.version) {
        throw new ConfigError(`duplicate migration version ${m.version} ('${prev.name}', '${m.name}')`, {
          details: { version: m.version },
        })
      }
      if (prev !== undefined && m.version !== prev.version + 1) {
        throw new ConfigError(`migration versions are not consecutive: ${prev.version} then ${m.version}`, {
          details: { missing: prev.version + 1 },
        })
      }
    }
    this.#sorted = sorted
    this.#target = target
    this.#history = history
    this.#clock = clock
  }

  /** What the database has applied, oldest first. */
  history(): Promise<AppliedMigration[]> {
    return this.#target.transaction((tx) => this.#history.read(tx))
  }

  /** Migrations of the set not yet applied, in order. */
  pending(): Promise<Migration<Tx>[]> {
    return this.#target.transaction(async (tx) => this.#pendingIn(await this.#history.read(tx)))
  }

  /** Applies every pending migration in order, each in its own transaction; returns those applied. */
  async up(): Promise<AppliedMigration[]> {
    const applied: AppliedMigration[] = []
    for (;;) {
      const done = await this.#target.transaction(async (tx) => {
        const next = this.#pendingIn(await this.#history.read(tx))[0]
        if (next === undefined) return undefined
        try {
          await next.up(tx)
        } catch (e) {
          // The database failing under the migration (a full disk, a timeout, a close) is not the
          // migration's fault: its code says what happened and what to do (retry, free space).
          if (isAzothError(e) && ENVIRONMENT_CODES.has(e.code)) throw e
          throw new AzothError('CONFIG', `migration ${next.version} '${next.name}' failed`, {
            cause: e,
            details: { version: next.version },
          })
        }
        const row = { version: next.version, name: next.name, appliedAt: this.#clock.now() }
        await this.#history.record(tx, row)
        return row
      })
      if (done === undefined) return applied
      applied.push(done)
    }
  }

  /** Runs the `down` of the last applied migration and forgets it; undefined when none is applied. */
  rollbackLast(): Promise<AppliedMigration | undefined> {
    return this.#target.transaction(async (tx) => {
      const history = await this.#history.read(tx)
      this.#check(history)
      const last = history.at(-1)
      if (last === undefined) return undefined
      const m = this.#sorted.find((x) => x.version === last.version)!
      if (m.down === undefined) {
        throw new ConfigError(`migration ${m.version} '${m.name}' has no down step`, {
          details: { version: m.version },
        })
      }
      await m.down(tx)
      await this.#history.forget(tx, m.version)
      return last
    })
  }

  #pendingIn(history: readonly AppliedMigration[]): Migration<Tx>[] {
    this.#check(history)
    const top = history.at(-1)?.version ?? 0
    return this.#sorted.filter((m) => m.version > top)
  }

  #check(history: readonly AppliedMigration[]): void {
    for (const h of history) {
      const m = this.#sorted.find((x) => x.version === h.version)
      if (m === undefined) {
        throw new ConfigError(`the database has migration ${h.version} '${h.name}', which the set lacks`, {
          details: { version: h.version },
        })
      }
      if (m.name !== h.name) {
        throw new ConfigError(
          `migration ${h.version} was applied as '${h.name}' but the set names it '${m.name}'`,
          {
            details: { version: h.version },
          },
        )
      }
    }
  }
}
