import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs'
import { AzothError } from '@azothdb/core'

// Where a meta page keeps mm_last_pg and mm_txnid (see data-file-check.ts for the layout).
const LAST_PAGE = 0x90
/** Reserved ahead of LMDB's last page beyond what a group needs: covers the B-tree pages it copies. */
const SLACK_BYTES = 1024 * 1024
/** The file grows in steps of at least this, so most groups find their space already there. */
const STEP_BYTES = 8 * 1024 * 1024
const ZEROS = new Uint8Array(1024 * 1024)

/**
 * Keeps allocated space in `data.mdb` ahead of the pages LMDB writes next, so that a full disk
 * fails here, in JavaScript, before a group reaches LMDB, instead of inside LMDB's page writes.
 *
 * Why: when a page write fails (ENOSPC, EIO), the LMDB that lmdb-js 3.5.6 builds formats its error
 * message ("Attempting to write page at position …, buffer sizes …", mdb.c, mdb_page_flush) into a
 * 100-byte malloc; with long enough numbers (large offsets, or the uninitialised iov lengths it
 * prints) that overflows the heap and glibc aborts the process later ("malloc(): corrupted top
 * size"). LMDB writes new pages after its last used page; space there that is already allocated
 * (zeros written by us) cannot run out. Reused free pages and meta pages lie inside the file anyway.
 *
 * Only called between group commits, when no LMDB write transaction is running: the zeros go past
 * the file's current end, where LMDB has written nothing. File systems that do not allocate for
 * written zeros (compressing or deduplicating ones) get no protection from this.
 */
export class SpaceReserve {
  readonly #fd: number
  readonly #pageSize: number
  readonly #dataFile: string
  readonly #meta = Buffer.alloc(16)
  #fileBytes: number
  /** Allocated bytes past LMDB's last page at the last measurement, less what groups since may have used. */
  #room = 0
  /** LMDB's used bytes at the last measurement plus what groups since may have appended: never less than in use. */
  #usedBound = Number.POSITIVE_INFINITY

  constructor(dataFile: string, pageSize: number) {
    this.#dataFile = dataFile
    this.#pageSize = pageSize
    this.#fd = openSync(dataFile, 'r+')
    this.#fileBytes = fstatSync(this.#fd).size
  }

  /** The page size of the environment: a group's estimate counts a page per write. */
  get pageSize(): number {
    return this.#pageSize
  }

  /**
   * Makes sure a group can be written past LMDB's last page without the file system allocating:
   * `pageBytes`, a page for each write (the most the group can copy), and `dataBytes`, its keys,
   * values and events. Raises `IO` with `details.errno` (`'ENOSPC'`) when the disk has not that
   * much room; nothing of the group has been written then.
   */
  ensure(pageBytes: number, dataBytes: number): void {
    // Copy-on-write copies a page at most once per transaction: a group never copies more pages
    // than the file holds, however many writes it makes (a bulk load into a small store used to
    // reserve a page per write, tens of MiB for a store of one).
    const bytes = Math.min(pageBytes, this.#usedBound) + dataBytes
    const wanted = 2 * bytes + SLACK_BYTES
    // Most groups fit in what the last measurement left; each is charged as if it appended all
    // it wanted (reused free pages append nothing), so the meta pages are read only when it runs low.
    if (this.#room >= wanted) {
      this.#room -= 2 * bytes
      this.#usedBound += 2 * bytes
      return
    }
    const used = (this.#lastPage() + 1) * this.#pageSize
    this.#usedBound = used
    const measured = Math.min(pageBytes, used) + dataBytes
    const needed = used + 2 * measured + SLACK_BYTES
    this.#fileBytes = Math.max(this.#fileBytes, fstatSync(this.#fd).size)
    if (this.#fileBytes < needed) this.#grow(needed)
    this.#room = this.#fileBytes - used - 2 * measured
    this.#usedBound = used + 2 * measured
  }

  #grow(needed: number): void {
    const target = Math.max(needed, this.#fileBytes + STEP_BYTES)
    try {
      while (this.#fileBytes < target) {
        const n = Math.min(ZEROS.length, target - this.#fileBytes)
        this.#fileBytes += writeSync(this.#fd, ZEROS, 0, n, this.#fileBytes)
      }
    } catch (e) {
      this.#fileBytes = fstatSync(this.#fd).size
      // The step is a convenience; only what this group needs must be there.
      if (this.#fileBytes >= needed) return
      const errno = (e as NodeJS.ErrnoException).code ?? 'unknown'
      throw new AzothError(
        'IO',
        `cannot reserve space for a commit in ${this.#dataFile}${errno === 'ENOSPC' ? ' (the disk is full)' : ''}`,
        { cause: e, details: { errno, path: this.#dataFile } },
      )
    }
  }

  close(): void {
    closeSync(this.#fd)
  }

  /** LMDB's last used page, from the meta page of the newer transaction. */
  #lastPage(): number {
    let last = 0
    let txnId = -1
    for (let page = 0; page < 2; page++) {
      readSync(this.#fd, this.#meta, 0, 16, page * this.#pageSize + LAST_PAGE)
      const t = Number(this.#meta.readBigUInt64LE(8))
      if (t > txnId) {
        txnId = t
        last = Number(this.#meta.readBigUInt64LE(0))
      }
    }
    return last
  }
}
