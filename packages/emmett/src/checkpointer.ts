import { type Checkpointer, getCheckpoint, type Message } from '@event-driven-io/emmett'
import { type Azoth, AzothError, TypedValue } from 'azothdb'
import type { AzothProcessorHandlerContext } from './processor-context.js'
import type { AzothReadEventMetadata } from './read-event.js'

/** Emmett's `Checkpointer` for processors run by the adapter's consumer. */
export type AzothCheckpointer<MessageType extends Message = Message> = Checkpointer<
  MessageType,
  AzothReadEventMetadata,
  AzothProcessorHandlerContext
>

/** Where checkpoints live in the database's key-value state: this prefix, then partition and id. */
export const CHECKPOINT_KEY_PREFIX = 'emmett/checkpoint/'

/** The state key of one processor's checkpoint; the parts are URI-encoded so none can hold a `/`. */
export function checkpointKey(processorId: string, partition: string | undefined): string {
  return `${CHECKPOINT_KEY_PREFIX}${encodeURIComponent(partition ?? 'emt:default')}/${encodeURIComponent(processorId)}`
}

function databaseOf(context: unknown, processorId: string): Azoth {
  const db = (context as { db?: unknown } | undefined)?.db
  if (db === null || typeof db !== 'object' || typeof (db as Azoth).transaction !== 'function') {
    throw new AzothError(
      'INVALID_ARGUMENT',
      `processor '${processorId}' keeps its checkpoint in Azoth but its context has no database: run it with eventStore.consumer()`,
      { details: { processorId } },
    )
  }
  return db as Azoth
}

/** The checkpoint a stored value holds; anything else under our key is damage, never a guess. */
function storedCheckpoint(value: TypedValue | undefined, key: string): bigint | null {
  if (value === undefined) return null
  const stored = value.kind === 'json' ? value.asJson() : undefined
  const checkpoint = (stored as { checkpoint?: unknown } | undefined)?.checkpoint
  if (typeof checkpoint === 'bigint') return checkpoint
  throw new AzothError('CORRUPTION', `the processor checkpoint under '${key}' is not one the adapter wrote`, {
    details: { where: key },
  })
}

type StoreResult =
  | { readonly success: true; readonly newCheckpoint: bigint }
  | { readonly success: false; readonly reason: 'IGNORED' | 'MISMATCH' | 'CURRENT_AHEAD' }

/**
 * Emmett's `Checkpointer` over the database's key-value state: each processor's checkpoint (the
 * global position of the last message it handled, and its `version`) lives under
 * `emmett/checkpoint/<partition>/<processorId>`, both URI-encoded. `store` is a compare-and-set in
 * one durable Azoth transaction: it writes only when the stored checkpoint is the one the
 * processor last saw, so two instances of one processor cannot both advance it. The consumer
 * gives it the database through the handler context.
 *
 * @example
 * const processor = reactor({ processorId: 'mailer', eachMessage: send, checkpoints: azothCheckpointer() })
 * await eventStore.consumer({ processors: [processor] }).start()
 */
export function azothCheckpointer<MessageType extends Message = Message>(): AzothCheckpointer<MessageType> {
  return {
    read: async ({ processorId, partition }, context) => {
      const db = databaseOf(context, processorId)
      const key = checkpointKey(processorId, partition)
      return { lastCheckpoint: storedCheckpoint(db.getOpt(key), key) }
    },
    store: async ({ message, processorId, version, lastCheckpoint, partition }, context) => {
      const db = databaseOf(context, processorId)
      const key = checkpointKey(processorId, partition)
      const position: unknown = getCheckpoint(message)
      if (typeof position !== 'bigint' || position < 0n) {
        throw new AzothError(
          'INVALID_ARGUMENT',
          'a checkpoint must be a non-negative bigint global position',
          {
            details: { processorId, checkpoint: String(position) },
          },
        )
      }
      const committed = await db
        .transaction()
        .keys([key])
        .execute((tx): StoreResult => {
          const current = storedCheckpoint(tx.getOpt(key), key)
          if (current !== null) {
            if (current === position) return { success: false, reason: 'IGNORED' }
            if (current !== lastCheckpoint) {
              return { success: false, reason: current > position ? 'CURRENT_AHEAD' : 'MISMATCH' }
            }
          }
          tx.set(key, TypedValue.json({ checkpoint: position, version: version ?? 1 }))
          return { success: true, newCheckpoint: position }
        })
      return committed.result
    },
  }
}
