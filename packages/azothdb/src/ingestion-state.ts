import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import type { Logger } from '@azothdb/core'
import { isProcessAlive, toError } from '@azothdb/core/internal'

/** Whether the database takes commits now: what `db.ingestionState()` reports. */
export interface IngestionState {
  /** New commits wait: `pauseIngestion()` was called, or a backup is copying. */
  readonly paused: boolean
  /** The head from which new commits are refused with `SEALED` (`seal()`), or undefined. */
  readonly sealedAt: number | undefined
  /** When the writer entered this state (ISO 8601), or undefined when it takes commits normally. */
  readonly since: string | undefined
}

const OPEN: IngestionState = Object.freeze({ paused: false, sealedAt: undefined, since: undefined })

/** What the writer publishes: the state and the process that holds it. */
interface Published {
  readonly pid: number
  readonly paused: boolean
  readonly sealedAt: number | null
  readonly since: string
}

/**
 * The ingestion state of a database, also across processes. Pauses and seals live in the writer's
 * memory (they are never persisted); so that an operator's read-only process (`azothdb status`)
 * can see them, the writer mirrors them into a small runtime file, present only while it is paused
 * or sealed. A file whose writer died (a crash) is stale: readers ignore it, the next writer removes it.
 */
export class IngestionStateFile {
  readonly #path: string
  readonly #store: { readonly paused: boolean; readonly sealedAt: number | undefined }
  readonly #readOnly: boolean
  readonly #logger: Logger
  #current: IngestionState = OPEN

  constructor(
    path: string,
    store: { readonly paused: boolean; readonly sealedAt: number | undefined },
    readOnly: boolean,
    logger: Logger,
  ) {
    this.#path = path
    this.#store = store
    this.#readOnly = readOnly
    this.#logger = logger
    // Under the writer's lock any file left here is a dead writer's.
    if (!readOnly) this.#remove()
  }

  /** The writer's state from its store; a reader's from the writer's file. */
  read(): IngestionState {
    return this.#readOnly ? this.#readPublished() : this.#current
  }

  /** The writer calls it after every pause, resume, seal and unseal: the file follows the store. */
  publish(): void {
    const paused = this.#store.paused
    const sealedAt = this.#store.sealedAt
    if (paused === this.#current.paused && sealedAt === this.#current.sealedAt) return
    if (!paused && sealedAt === undefined) {
      this.#current = OPEN
      this.#remove()
      return
    }
    const since = new Date().toISOString()
    this.#current = { paused, sealedAt, since }
    const published: Published = { pid: process.pid, paused, sealedAt: sealedAt ?? null, since }
    try {
      writeFileSync(`${this.#path}.tmp`, `${JSON.stringify(published)}\n`)
      renameSync(`${this.#path}.tmp`, this.#path)
    } catch (e) {
      // Only other processes' view suffers: the database itself pauses and seals all the same.
      this.#logger.warn({ err: toError(e), path: this.#path }, 'could not publish the ingestion state')
    }
  }

  /** The writer closes: its pauses and seals end with it. */
  clear(): void {
    if (!this.#readOnly && this.#current !== OPEN) this.#remove()
    this.#current = OPEN
  }

  #remove(): void {
    try {
      rmSync(this.#path, { force: true })
    } catch (e) {
      this.#logger.warn({ err: toError(e), path: this.#path }, 'could not remove the ingestion state file')
    }
  }

  #readPublished(): IngestionState {
    let text: string
    try {
      text = readFileSync(this.#path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return OPEN
      this.#logger.warn({ err: toError(e), path: this.#path }, 'could not read the ingestion state file')
      return OPEN
    }
    let p: Partial<Published>
    try {
      p = JSON.parse(text) as Partial<Published>
    } catch {
      // The writer renames a complete file into place, so this is damage; a runtime file says
      // nothing about the data, so it reads as no pause and no seal.
      this.#logger.warn({ path: this.#path }, 'the ingestion state file is not JSON; ignored')
      return OPEN
    }
    if (typeof p.pid !== 'number' || !isProcessAlive(p.pid)) return OPEN
    return {
      paused: p.paused === true,
      sealedAt: typeof p.sealedAt === 'number' ? p.sealedAt : undefined,
      since: typeof p.since === 'string' ? p.since : undefined,
    }
  }
}
