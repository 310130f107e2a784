import { type Checkpointer, getCheckpoint, type Message } from '@event-driven-io/emmett'
import { type Azoth, AzothError } from 'azothdb'
import {
  checkpointBatchOf,
  checkpointValue,
  refusal,
  type StoreResult,
  storedCheckpoint,
} from './checkpoint-store.js'
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

/**
 * Emmett's `Checkpointer` over the database's key-value state: each processor's checkpoint (the
 * global position of the last message it handled, and its `version`) lives under
 * `emmett/checkpoint/<partition>/<processorId>`, both URI-encoded. `store` is a compare-and-set:
 * it moves only the checkpoint the processor last saw, so two instances of one processor cannot
 * both advance it. Under the adapter's consumer (which gives it the database through the handler
 * context) a batch's stores are committed together, in one transaction once the batch is handled;
 * anywhere else each store is a durable transaction of its own.
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
      const batch = checkpointBatchOf(context)
      if (batch !== undefined) return batch.store(key, position, lastCheckpoint, version ?? 1)
      const committed = await db
        .transaction()
        .keys([key])
        .execute((tx): StoreResult => {
          const refused = refusal(storedCheckpoint(tx.getOpt(key), key), position, lastCheckpoint)
          if (refused !== undefined) return refused
          tx.set(key, checkpointValue(position, version ?? 1))
          return { success: true, newCheckpoint: position }
        })
      return committed.result
    },
  }
}
