// checkIntegrity: SQLite's quick_check from a worker, for a file that no seal vouches for (a writer
// still open, or the file a crash left), while the writer goes on.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { SqliteProjectionStore } from '@azothdb/projection-sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
let path: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-integrity-'))
  path = join(dir, 'projection.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const PAGE = 4096

async function writeRows(store: SqliteProjectionStore, from: number, count: number): Promise<void> {
  await store.transaction((tx) => {
    tx.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)')
    for (let i = from; i < from + count; i++) tx.run('INSERT INTO notes VALUES (?, ?)', [i, `note ${i}`])
  })
}

/** Sets the cell count of the last table leaf page (type 0x0D) far beyond what the page can hold. */
function damageLastLeaf(file: string): number {
  const bytes = readFileSync(file)
  for (let page = bytes.length / PAGE - 1; page >= 1; page--) {
    if (bytes[page * PAGE] !== 0x0d) continue
    bytes.writeUInt16BE(0xfff0, page * PAGE + 3)
    writeFileSync(file, bytes)
    return page + 1 // SQLite numbers pages from 1
  }
  throw new Error('no table leaf page')
}

describe('SqliteProjectionStore.checkIntegrity', () => {
  it('finds nothing in an intact file, while the writer keeps committing', async () => {
    const store = SqliteProjectionStore.open({ path })
    await writeRows(store, 0, 2000)
    const [found] = await Promise.all([store.checkIntegrity(), writeRows(store, 2000, 500)])
    expect(found).toEqual([])
    const [row] = await store.query<{ n: number }>('SELECT count(*) AS n FROM notes')
    expect(row!.n).toBe(2500)
    await store.close()
  })

  it('reports a damaged page that no seal vouches for (the file a crash left), in SQLite’s words', async () => {
    const writer = SqliteProjectionStore.open({ path })
    await writeRows(writer, 0, 2000)
    await writer.close()
    rmSync(`${path}-seal`) // as after a crash: nothing to check the file against at open
    const page = damageLastLeaf(path)
    const store = SqliteProjectionStore.open({ path, readOnly: true })
    expect(store.sealAtOpen).toBe('unsealed')
    const found = await store.checkIntegrity()
    expect(found.length).toBeGreaterThan(0)
    expect(found.join('\n')).toMatch(new RegExp(`page ${page}|SQLITE_CORRUPT`, 'i'))
    await store.close()
  })

  it('a file that is no SQLite database is one problem, not an exception', async () => {
    const store = SqliteProjectionStore.open({ path })
    await writeRows(store, 0, 10)
    writeFileSync(`${dir}/other.db`, Buffer.alloc(3 * PAGE, 0x41))
    const other = SqliteProjectionStore.open({ path: `${dir}/other.db`, readOnly: true, readers: 0 })
    // Opening does not read a page; the check does.
    const found = await other.checkIntegrity().catch((e: unknown) => e)
    expect(Array.isArray(found) ? found : String(found)).toEqual([expect.stringMatching(/SQLITE_NOTADB/)])
    await other.close()
    await store.close()
  })

  it('in memory, on the writer; closed, CLOSED', async () => {
    const store = SqliteProjectionStore.open({ path: ':memory:' })
    await writeRows(store, 0, 100)
    expect(await store.checkIntegrity()).toEqual([])
    await store.close()
    const error = await store.checkIntegrity().catch((e: unknown) => e)
    expect(isAzothError(error, 'CLOSED')).toBe(true)
  })
})
