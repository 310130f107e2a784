import { type Clock, ConfigError } from '@azothdb/core'
import type { SqliteTx } from './sqlite-tx.js'

/** One schema change of the projection tables. `up` and `down` run inside their own transaction. */
export interface Migration {
  /** Position in the sequence: versions are consecutive integers (1, 2, 3...). */
  readonly version: number
  /**
   * A short, stable description (e.g. `'create accounts'`); recorded in the history and checked on later
   * runs, so never rename an applied migration.
   */
  readonly name: string
  /**
   * Applies the change (DDL, backfills) with `tx`; throwing rolls it back and `up()` raises `CONFIG` with
   * the error as `cause`.
   */
  up(tx: SqliteTx): void
  /** Undoes `up`, for `rollbackLast()`; optional, but rolling back a migration without it raises `CONFIG`. */
  down?(tx: SqliteTx): void
}

/** A row of `_azoth_migrations`. */
export interface AppliedMigration {
  /** The migration's version. */
  readonly version: number
  /** The name it was applied under. */
  readonly name: string
  /** When it was applied, in milliseconds since the epoch (the store's clock). */
  readonly appliedAt: number
}

/** The transactional part of the store a migrator needs. */
export interface MigrationTarget {
  transaction<R>(fn: (tx: SqliteTx) => R | Promise<R>): Promise<R>
}

/**
 * Applies and rolls back versioned migrations, each in its own transaction together with its
 * history row. The set is checked when the migrator is made: duplicate versions, gaps and
 * non-positive versions raise `CONFIG`; `up`/`pending` also raise `CONFIG` when the database has a
 * version the set no longer has, or a version under another name.
 */
export class Migrator {
  private readonly sorted: readonly Migration[]

  /** @internal use `store.migrator(migrations)`. */
  constructor(
    private readonly target: MigrationTarget,
    migrations: readonly Migration[],
    private readonly clock: Clock,
  ) {
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
    this.sorted = sorted
  }

  /** What the database has applied, oldest first. */
  history(): Promise<AppliedMigration[]> {
    return this.target.transaction((tx) => readHistory(tx))
  }

  /** Migrations of the set not yet applied, in order. */
  pending(): Promise<Migration[]> {
    return this.target.transaction((tx) => this.pendingIn(readHistory(tx)))
  }

  /** Applies every pending migration in order, each in its own transaction; returns those applied. */
  async up(): Promise<AppliedMigration[]> {
    const applied: AppliedMigration[] = []
    for (;;) {
      const done = await this.target.transaction((tx) => {
        const next = this.pendingIn(readHistory(tx))[0]
        if (next === undefined) return undefined
        try {
          next.up(tx)
        } catch (e) {
          throw new ConfigError(`migration ${next.version} '${next.name}' failed`, {
            cause: e,
            details: { version: next.version },
          })
        }
        const row = { version: next.version, name: next.name, appliedAt: this.clock.now() }
        tx.run('INSERT INTO _azoth_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
          row.version,
          row.name,
          row.appliedAt,
        ])
        return row
      })
      if (done === undefined) return applied
      applied.push(done)
    }
  }

  /** Runs the `down` of the last applied migration and forgets it; undefined when none is applied. */
  rollbackLast(): Promise<AppliedMigration | undefined> {
    return this.target.transaction((tx) => {
      const history = readHistory(tx)
      this.check(history)
      const last = history.at(-1)
      if (last === undefined) return undefined
      const m = this.sorted.find((x) => x.version === last.version)!
      if (m.down === undefined) {
        throw new ConfigError(`migration ${m.version} '${m.name}' has no down step`, {
          details: { version: m.version },
        })
      }
      m.down(tx)
      tx.run('DELETE FROM _azoth_migrations WHERE version = ?', [m.version])
      return last
    })
  }

  private pendingIn(history: readonly AppliedMigration[]): Migration[] {
    this.check(history)
    const top = history.at(-1)?.version ?? 0
    return this.sorted.filter((m) => m.version > top)
  }

  private check(history: readonly AppliedMigration[]): void {
    for (const h of history) {
      const m = this.sorted.find((x) => x.version === h.version)
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

function readHistory(tx: SqliteTx): AppliedMigration[] {
  return tx
    .all<{ version: number; name: string; applied_at: number }>(
      'SELECT version, name, applied_at FROM _azoth_migrations ORDER BY version',
    )
    .map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at }))
}
