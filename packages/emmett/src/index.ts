export { type AzothEventStore, type AzothEventStoreOptions, getAzothEventStore } from './azoth-event-store.js'
export { type AzothCheckpointer, azothCheckpointer } from './checkpointer.js'
export type { AzothEventStoreConsumer, AzothProcessor } from './consumer.js'
export type {
  AzothConsumerMetrics,
  AzothProcessorError,
  AzothProcessorMetrics,
} from './consumer-metrics.js'
export type { AzothEventStoreConsumerOptions } from './consumer-options.js'
export { AzothEventStoreDefaultStreamVersion } from './expected-version.js'
export type { AzothProcessorHandlerContext } from './processor-context.js'
export type { AzothReadEventMetadata } from './read-event.js'
