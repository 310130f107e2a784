import type { DefaultRecord, EventStore } from '@event-driven-io/emmett'
import type { Azoth } from 'azothdb'
import type { AzothReadEventMetadata } from './read-event.js'

/**
 * What the adapter's consumer hands its processors as context (`start`, `handle`, `close`, and so
 * every `eachMessage`, projection `handle` and hook): the database and the event store it
 * consumes. `azothCheckpointer` keeps its checkpoints in `db`.
 */
export type AzothProcessorHandlerContext = DefaultRecord & {
  /** The database the consumer reads. */
  // biome-ignore lint/suspicious/noExplicitAny: a consumer serves any Azoth<Tx, E>
  readonly db: Azoth<any, any>
  /** The adapter's event store over `db` (an `AzothEventStore`). */
  readonly eventStore: EventStore<AzothReadEventMetadata>
}
