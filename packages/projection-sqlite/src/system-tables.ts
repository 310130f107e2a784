import type Database from 'better-sqlite3'

import { SYSTEM_PREFIX } from './system-prefix.js'

export { SYSTEM_PREFIX }

/** The system schema's version, stored in `_azoth_meta`, for future upgrades of these tables. */
export const SYSTEM_SCHEMA_VERSION = 1

// IF NOT EXISTS everywhere: opening an existing file is a no-op, and a half-created schema (a crash
// during the first open) is completed on the next one; the whole script runs in one transaction.
const SYSTEM_DDL = `
CREATE TABLE IF NOT EXISTS _azoth_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS _azoth_cursors (
  projector TEXT PRIMARY KEY,
  event_id INTEGER NOT NULL CHECK (event_id >= 0),
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS _azoth_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS _azoth_dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  projector TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  envelope BLOB NOT NULL,
  error_message TEXT NOT NULL,
  error_stack TEXT,
  attempts INTEGER NOT NULL,
  first_failed_at INTEGER NOT NULL,
  last_failed_at INTEGER NOT NULL,
  next_retry_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'permanent')),
  UNIQUE (projector, event_id)
) STRICT;
CREATE INDEX IF NOT EXISTS _azoth_dead_letters_due
  ON _azoth_dead_letters (projector, status, next_retry_at);
INSERT OR IGNORE INTO _azoth_meta (key, value) VALUES ('system_schema_version', '${SYSTEM_SCHEMA_VERSION}');
`

/** Creates the system tables when missing, in one immediate transaction. */
export function ensureSystemTables(db: Database.Database): void {
  db.transaction(() => db.exec(SYSTEM_DDL)).immediate()
}
