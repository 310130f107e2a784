import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '@azothdb/core'
import type { Migration } from './migrations.js'

const FILE = /^(\d+)[_-](.+?)(\.down)?\.sql$/

/**
 * Reads migrations from `.sql` files in `dir`: `0001_create_balances.sql` is version 1 named
 * `create_balances`; an optional `0001_create_balances.down.sql` is its `down`. Other files are
 * ignored. Two files with the same version raise `CONFIG`.
 */
export function loadSqlMigrations(dir: string): Migration[] {
  let names: string[]
  try {
    names = readdirSync(dir).sort()
  } catch (e) {
    throw new ConfigError(`cannot read migrations folder ${dir}`, { cause: e, details: { dir } })
  }
  const ups = new Map<number, { name: string; sql: string }>()
  const downs = new Map<number, string>()
  for (const file of names) {
    const m = FILE.exec(file)
    if (m === null) continue
    const version = Number(m[1])
    const sql = readFileSync(join(dir, file), 'utf8')
    if (m[3] !== undefined) {
      downs.set(version, sql)
      continue
    }
    const existing = ups.get(version)
    if (existing !== undefined) {
      throw new ConfigError(`two migration files have version ${version}: '${existing.name}' and '${m[2]}'`, {
        details: { version, dir },
      })
    }
    ups.set(version, { name: m[2]!, sql })
  }
  for (const v of downs.keys()) {
    if (!ups.has(v))
      throw new ConfigError(`down file for version ${v} has no up file`, { details: { version: v } })
  }
  return [...ups.entries()].map(([version, { name, sql }]) => {
    const down = downs.get(version)
    return {
      version,
      name,
      up: (tx) => tx.exec(sql),
      ...(down === undefined ? {} : { down: (tx) => tx.exec(down) }),
    } satisfies Migration
  })
}
