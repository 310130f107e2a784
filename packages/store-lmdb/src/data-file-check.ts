import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { CorruptionError } from '@azothdb/core'

const LMDB_MAGIC = 0xbeefc0de
/** The data format of the LMDB that lmdb-js builds (LMDB 1.0's; the 0.9 tools read version 1). */
const LMDB_DATA_VERSION = 2

// Offsets inside a meta page (pages 0 and 1), for the LMDB lmdb-js ships (64-bit pgno_t): a
// 24-byte page header, then MDB_meta { magic u32, version u32, address, mapsize,
// dbs[2] (48 bytes each; the free DB's md_pad is the page size), last_pg u64, txnid u64 }.
// Checked against files lmdb-js writes (test/data-file.test.ts truncates real ones).
const MAGIC = 0x18
const VERSION = 0x1c
const PAGE_SIZE = 0x30
const LAST_PAGE = 0x90
const TXN_ID = 0x98
const META_BYTES = TXN_ID + 8

/** What the newer of a data file's two meta pages says about it. */
export interface DataFileMeta {
  readonly pageSize: number
  /** The last page the newer meta's transaction uses: the file must hold pages 0..lastPage. */
  readonly lastPage: number
  /** 0 when no transaction was ever committed (an environment created and never written). */
  readonly txnId: number
  readonly fileBytes: number
}

/**
 * Checks an LMDB data file against its own meta pages before LMDB maps it. LMDB trusts its file:
 * pages past the end of a truncated file are mapped anyway and reading them kills the process
 * with SIGBUS (read-only opens too), and some garbage crashes lmdb-js. So a file too short for
 * two meta pages, with a bad magic or version, or shorter than the pages its newer meta commits
 * is refused here with `CORRUPTION` naming the file and the expected and actual sizes. It only
 * reads; nothing is written.
 */
export function checkDataFile(dataFile: string): DataFileMeta {
  const fd = openSync(dataFile, 'r')
  try {
    const first = readMeta(fd, 0, dataFile)
    const second = readMeta(fd, first.pageSize, dataFile)
    const newer = second.txnId > first.txnId ? second : first
    // The size is taken after the metas: a writer in another process extends the file before it
    // writes the meta that counts the new pages, so a commit racing this check cannot fail it.
    const fileBytes = fstatSync(fd).size
    const expected = (newer.lastPage + 1) * first.pageSize
    if (fileBytes < expected) {
      corrupt(
        dataFile,
        `is truncated: its last commit (transaction ${newer.txnId}) uses ${newer.lastPage + 1} pages of ${first.pageSize} bytes`,
        expected,
        fileBytes,
      )
    }
    return { pageSize: first.pageSize, lastPage: newer.lastPage, txnId: newer.txnId, fileBytes }
  } finally {
    closeSync(fd)
  }
}

function readMeta(
  fd: number,
  offset: number,
  dataFile: string,
): { pageSize: number; lastPage: number; txnId: number } {
  const page = Buffer.alloc(META_BYTES)
  const n = readSync(fd, page, 0, META_BYTES, offset)
  if (n < META_BYTES) {
    const fileBytes = fstatSync(fd).size
    corrupt(
      dataFile,
      `is ${fileBytes} bytes, too short for LMDB's two meta pages`,
      offset + META_BYTES,
      fileBytes,
    )
  }
  if (page.readUInt32LE(MAGIC) !== LMDB_MAGIC || page.readUInt32LE(VERSION) !== LMDB_DATA_VERSION) {
    throw new CorruptionError(`${dataFile} is not an LMDB environment of the expected format`, {
      details: { where: dataFile, offset: offset + MAGIC },
    })
  }
  const pageSize = page.readUInt32LE(PAGE_SIZE)
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new CorruptionError(`${dataFile} has a meta page with an impossible page size ${pageSize}`, {
      details: { where: dataFile, offset: offset + PAGE_SIZE },
    })
  }
  const lastPage = Number(page.readBigUInt64LE(LAST_PAGE))
  const txnId = Number(page.readBigUInt64LE(TXN_ID))
  if (!Number.isSafeInteger(lastPage) || !Number.isSafeInteger(txnId) || lastPage < 1) {
    throw new CorruptionError(`${dataFile} has a damaged meta page`, {
      details: { where: dataFile, offset },
    })
  }
  return { pageSize, lastPage, txnId }
}

function corrupt(dataFile: string, what: string, expectedBytes: number, actualBytes: number): never {
  throw new CorruptionError(
    `${dataFile} ${what}: expected at least ${expectedBytes} bytes, found ${actualBytes}`,
    {
      details: { where: dataFile, expectedBytes, actualBytes },
    },
  )
}
