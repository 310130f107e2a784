import { type Azoth, AzothError, TypedValue } from 'azothdb'

/** What storing a checkpoint answers, in Emmett's terms (`StoreProcessorCheckpointResult`). */
export type StoreResult =
  | { readonly success: true; readonly newCheckpoint: bigint }
  | { readonly success: false; readonly reason: 'IGNORED' | 'MISMATCH' | 'CURRENT_AHEAD' }

/** The checkpoint a stored value holds; anything else under our key is damage, never a guess. */
export function storedCheckpoint(value: TypedValue | undefined, key: string): bigint | null {
  if (value === undefined) return null
  const stored = value.kind === 'json' ? value.asJson() : undefined
  const checkpoint = (stored as { checkpoint?: unknown } | undefined)?.checkpoint
  if (typeof checkpoint === 'bigint') return checkpoint
  throw new AzothError('CORRUPTION', `the processor checkpoint under '${key}' is not one the adapter wrote`, {
    details: { where: key },
  })
}

/** The value stored under a checkpoint key. */
export function checkpointValue(position: bigint, version: number): TypedValue {
  return TypedValue.json({ checkpoint: position, version })
}

/**
 * Emmett's compare-and-set rule for checkpoints: a processor may move the checkpoint only from
 * the one it last saw (`lastCheckpoint`); undefined means it may.
 */
export function refusal(
  current: bigint | null,
  position: bigint,
  lastCheckpoint: unknown,
): StoreResult | undefined {
  if (current === null) return undefined
  if (current === position) return { success: false, reason: 'IGNORED' }
  if (current !== lastCheckpoint)
    return { success: false, reason: current > position ? 'CURRENT_AHEAD' : 'MISMATCH' }
  return undefined
}

interface Pending {
  // What the database held when this batch first moved the checkpoint: the commit checks it is still so.
  readonly expected: bigint | null
  next: bigint
  version: number
}

/**
 * The checkpoints one processor stores while handling one batch, committed by the consumer in one
 * transaction once the batch is handled (or has failed part way): Emmett's processors store after
 * every message, and a durable commit per message would bound a processor to the disk's sync rate.
 */
export class CheckpointBatch {
  readonly #db: Azoth
  readonly #pending = new Map<string, Pending>()
  #open = true

  constructor(db: Azoth) {
    this.#db = db
  }

  /** Until `commit()`; a handler still running after that (timed out) stores durably on its own. */
  get open(): boolean {
    return this.#open
  }

  /** Records a store, with the compare-and-set answered against this batch's latest. */
  store(key: string, position: bigint, lastCheckpoint: unknown, version: number): StoreResult {
    const pending = this.#pending.get(key)
    const current = pending === undefined ? storedCheckpoint(this.#db.getOpt(key), key) : pending.next
    const refused = refusal(current, position, lastCheckpoint)
    if (refused !== undefined) return refused
    if (pending === undefined) this.#pending.set(key, { expected: current, next: position, version })
    else {
      pending.next = position
      pending.version = version
    }
    return { success: true, newCheckpoint: position }
  }

  /**
   * Writes the batch's checkpoints in one transaction; returns the keys another writer moved
   * meanwhile (left as that writer left them).
   */
  async commit(): Promise<string[]> {
    this.#open = false
    if (this.#pending.size === 0) return []
    const pending = this.#pending
    const committed = await this.#db
      .transaction()
      .keys(pending.keys())
      .execute((tx) => {
        const moved: string[] = []
        for (const [key, { expected, next, version }] of pending) {
          if (storedCheckpoint(tx.getOpt(key), key) !== expected) moved.push(key)
          else tx.set(key, checkpointValue(next, version))
        }
        return moved
      })
    return committed.result
  }
}

// The consumer hands each processor a fresh context per batch; Emmett's default processing scope
// passes that very object to the checkpointer, which finds the batch here.
const batches = new WeakMap<object, CheckpointBatch>()

/** Starts collecting the checkpoints stored with `context` (one processor, one batch). */
export function openCheckpointBatch(context: object, db: Azoth): CheckpointBatch {
  const batch = new CheckpointBatch(db)
  batches.set(context, batch)
  return batch
}

/** The open batch a store with `context` belongs to, if any. */
export function checkpointBatchOf(context: unknown): CheckpointBatch | undefined {
  if (context === null || typeof context !== 'object') return undefined
  const batch = batches.get(context)
  return batch?.open === true ? batch : undefined
}
