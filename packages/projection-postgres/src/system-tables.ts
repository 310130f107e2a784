import type pg from 'pg'
import { timedQuery } from './timed-query.js'

/** Prefix of every table the store itself owns; user migrations must not use it. */
export const SYSTEM_PREFIX = '_azoth_'

/** The system schema's version, stored in `_azoth_meta`, for future upgrades of these tables. */
export const SYSTEM_SCHEMA_VERSION = 1

/**
 * Advisory-lock classes (the first key of the two-key form), so our locks never collide with an
 * application's single-key locks: the second key is `hashtext(projector)`.
 */
export const LOCK_CLASS = {
  /** Held for one transaction by whoever reads a projector's cursor to apply a batch. */
  cursor: 0x417a0001,
  /** Held for a session by the one active instance of a projector. */
  projector: 0x417a0002,
  /** Held for one transaction while the system tables are created or a migration runs. */
  schema: 0x417a0003,
} as const

// Two processes opening a new database at once would race in CREATE TABLE IF NOT EXISTS (a unique
// violation in the catalog): the advisory lock makes the second wait, then find the tables.
const SYSTEM_DDL = `
SELECT pg_advisory_xact_lock(${LOCK_CLASS.schema}, 0);
CREATE TABLE IF NOT EXISTS _azoth_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS _azoth_cursors (
  projector TEXT PRIMARY KEY,
  event_id BIGINT NOT NULL CHECK (event_id >= 0),
  updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS _azoth_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS _azoth_dead_letters (
  id BIGSERIAL PRIMARY KEY,
  projector TEXT NOT NULL,
  event_id BIGINT NOT NULL,
  event_type TEXT NOT NULL,
  envelope BYTEA NOT NULL,
  error_message TEXT NOT NULL,
  error_stack TEXT,
  attempts INTEGER NOT NULL,
  first_failed_at BIGINT NOT NULL,
  last_failed_at BIGINT NOT NULL,
  next_retry_at BIGINT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'permanent')),
  UNIQUE (projector, event_id)
);
CREATE INDEX IF NOT EXISTS _azoth_dead_letters_due
  ON _azoth_dead_letters (projector, status, next_retry_at);
INSERT INTO _azoth_meta (key, value) VALUES ('system_schema_version', '${SYSTEM_SCHEMA_VERSION}')
  ON CONFLICT (key) DO NOTHING;
`

/** Creates the system tables when missing, in one transaction (a simple-protocol multi-statement). */
export async function ensureSystemTables(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  await timedQuery(client, timeoutMs, `BEGIN;${SYSTEM_DDL}COMMIT;`)
}
