// The seal: a cleanly closed file is checked at its next open, so a flipped bit in a row's value is
// CORRUPTION instead of a wrong answer; a file that may have changed since is never falsely refused.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isAzothError } from '@azothdb/core'
import { removeSqliteFiles, SqliteProjectionStore } from '@azothdb/projection-sqlite'
import Database from 'better-sqlite3'
import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

let dir: string
let path: string
let seal: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'azoth-seal-'))
  path = join(dir, 'projection.db')
  seal = `${path}-seal`
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const ROWS = 3000

/** A closed store whose `balances` table holds ROWS rows of amount 1000 + i (a file of about 150 KiB). */
async function writeBalances(): Promise<void> {
  const store = SqliteProjectionStore.open({ path })
  await store.transaction((tx) => {
    tx.exec('CREATE TABLE balances (id TEXT PRIMARY KEY, amount INTEGER NOT NULL, note TEXT NOT NULL)')
    for (let i = 0; i < ROWS; i++)
      tx.run('INSERT INTO balances VALUES (?, ?, ?)', [`acct-${i}`, 1000 + i, 'x'.repeat(20)])
  })
  await store.close()
}

async function sumOf(store: SqliteProjectionStore): Promise<number> {
  const [row] = await store.query<{ total: number }>('SELECT sum(amount) AS total FROM balances')
  return row!.total
}

const EXPECTED_SUM = ROWS * 1000 + (ROWS * (ROWS - 1)) / 2

function flipBit(file: string, offset: number, bit: number): void {
  const bytes = readFileSync(file)
  bytes[offset]! ^= 1 << bit
  writeFileSync(file, bytes)
}

/** The offset of a row's note in the file: a flip there is a different value to SQLite, not an error. */
function offsetOfNote(file: string): number {
  const at = readFileSync(file).indexOf('x'.repeat(20))
  expect(at).toBeGreaterThan(0)
  return at
}

function openFails(options: { readOnly?: boolean }): unknown {
  try {
    const store = SqliteProjectionStore.open({ path, ...options })
    void store.close()
    return undefined
  } catch (e) {
    return e
  }
}

describe('the seal of a cleanly closed SQLite file', () => {
  it('a clean close seals; the next opens verify it; an open that writes nothing keeps it as it was', async () => {
    await writeBalances()
    expect(existsSync(seal)).toBe(true)
    expect(readdirSync(dir).sort()).toEqual(['projection.db', 'projection.db-seal'])
    const sealed = readFileSync(seal)
    const readOnly = SqliteProjectionStore.open({ path, readOnly: true })
    const writer = SqliteProjectionStore.open({ path })
    expect([readOnly.sealAtOpen, writer.sealAtOpen]).toEqual(['verified', 'verified'])
    expect(await sumOf(writer)).toBe(EXPECTED_SUM)
    expect(await writer.cursors()).toEqual({})
    await readOnly.close()
    await writer.close()
    expect(readFileSync(seal).equals(sealed)).toBe(true)
  })

  it('a bit flipped in a row value is CORRUPTION for the writer and for a reader, naming the block; nothing is changed', async () => {
    await writeBalances()
    const at = offsetOfNote(path)
    flipBit(path, at, 1) // 'x' (0x78) becomes 'z': SQLite itself would read it as data
    const before = readFileSync(path)
    for (const readOnly of [true, false]) {
      const error = openFails({ readOnly })
      expect(isAzothError(error, 'CORRUPTION'), String(error)).toBe(true)
      expect((error as { details?: { offset?: number } }).details?.offset).toBe(
        Math.floor(at / 65536) * 65536,
      )
    }
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(existsSync(seal)).toBe(true)
    expect(existsSync(`${path}-wal`)).toBe(false)
    // The operator's way out when the change was on purpose: without the seal it opens, unverified.
    rmSync(seal)
    const store = SqliteProjectionStore.open({ path })
    expect(store.sealAtOpen).toBe('unsealed')
    await store.close()
  })

  it('a single flipped bit anywhere in the file, or in the seal, never opens as a different file', async () => {
    await writeBalances()
    const pristine = readFileSync(path)
    const pristineSeal = readFileSync(seal)
    await fc.assert(
      fc.property(fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 7 }), (inSeal, position, bit) => {
        writeFileSync(path, pristine)
        writeFileSync(seal, pristineSeal)
        const file = inSeal ? seal : path
        flipBit(file, position % (inSeal ? pristineSeal : pristine).length, bit)
        const error = openFails({ readOnly: true })
        expect(isAzothError(error, 'CORRUPTION'), String(error)).toBe(true)
      }),
      { numRuns: 60 },
    )
  })

  it('a file truncated or grown since its seal is CORRUPTION', async () => {
    await writeBalances()
    const bytes = readFileSync(path)
    for (const changed of [
      bytes.subarray(0, bytes.length - 4096),
      Buffer.concat([bytes, Buffer.alloc(4096)]),
    ]) {
      writeFileSync(path, changed)
      expect(isAzothError(openFails({}), 'CORRUPTION')).toBe(true)
    }
  })

  it('the first write removes the seal, so a writer that never closes leaves the file unsealed, not falsely sealed', async () => {
    await writeBalances()
    const writer = SqliteProjectionStore.open({ path })
    expect(existsSync(seal)).toBe(true)
    await writer.transaction((tx) => tx.run('UPDATE balances SET amount = 0 WHERE id = ?', ['acct-1']))
    expect(existsSync(seal)).toBe(false)
    // As after a crash: the writer never closes; a reader opens the file unverified and sees the write.
    const reader = SqliteProjectionStore.open({ path, readOnly: true })
    expect(reader.sealAtOpen).toBe('unsealed')
    expect(await sumOf(reader)).toBe(EXPECTED_SUM - 1001)
    await reader.close()
    await writer.close()
    // Closed alone, the writer sealed the new content.
    expect(existsSync(seal)).toBe(true)
    const again = SqliteProjectionStore.open({ path, readOnly: true })
    expect(again.sealAtOpen).toBe('verified')
    await again.close()
  })

  it('a store that writes nothing leaves an unsealed file unsealed (a failed open changes no file)', async () => {
    await writeBalances()
    rmSync(seal) // as after a crash
    const before = readFileSync(path)
    const store = SqliteProjectionStore.open({ path })
    expect(store.sealAtOpen).toBe('unsealed')
    expect(await store.cursors()).toEqual({})
    expect(await sumOf(store)).toBe(EXPECTED_SUM)
    await store.close()
    expect(readdirSync(dir)).toEqual(['projection.db'])
    expect(readFileSync(path).equals(before)).toBe(true)
  })

  it('dead-letter changes outside a transaction remove the seal too', async () => {
    await writeBalances()
    const writer = SqliteProjectionStore.open({ path })
    await writer.deadLetters.list()
    expect(existsSync(seal)).toBe(true)
    await writer.deadLetters.remove(1)
    expect(existsSync(seal)).toBe(false)
    await writer.close()
  })

  it('no seal while another connection still holds the file: it may write after this close', async () => {
    await writeBalances()
    const other = new Database(path)
    other.prepare('SELECT count(*) FROM balances').get()
    const writer = SqliteProjectionStore.open({ path })
    await writer.transaction((tx) => tx.run('UPDATE balances SET amount = 1 WHERE id = ?', ['acct-2']))
    await writer.close()
    expect(existsSync(seal)).toBe(false)
    other.prepare("UPDATE balances SET amount = 2 WHERE id = 'acct-3'").run()
    other.close()
    const store = SqliteProjectionStore.open({ path, readOnly: true })
    expect(store.sealAtOpen).toBe('unsealed')
    await store.close()
  })

  it('a seal whose file was deleted or written behind it is stale: ignored, and a writer removes it', async () => {
    await writeBalances()
    // Written behind the seal (as an upgrade at open that crashed before its first transaction).
    const raw = new Database(path)
    raw.pragma('wal_autocheckpoint = 0')
    raw.prepare("UPDATE balances SET amount = 7 WHERE id = 'acct-4'").run()
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0)
    const reader = SqliteProjectionStore.open({ path, readOnly: true })
    expect(reader.sealAtOpen).toBe('stale')
    await reader.close()
    raw.close()

    removeSqliteFiles(path)
    await writeBalances()
    rmSync(path)
    const writer = SqliteProjectionStore.open({ path })
    expect(writer.sealAtOpen).toBe('stale')
    expect(existsSync(seal)).toBe(false)
    await writer.close()
    const reopened = SqliteProjectionStore.open({ path, readOnly: true })
    expect(reopened.sealAtOpen).toBe('verified')
    await reopened.close()
  })

  it('removeSqliteFiles removes the seal with the file', async () => {
    await writeBalances()
    removeSqliteFiles(path)
    expect(readdirSync(dir)).toEqual([])
  })

  it('an in-memory store has nothing to seal', async () => {
    const store = SqliteProjectionStore.open({ path: ':memory:' })
    expect(store.sealAtOpen).toBe('unsealed')
    await store.transaction((tx) => tx.exec('CREATE TABLE t (a)'))
    await store.close()
    expect(readdirSync(dir)).toEqual([])
  })
})
