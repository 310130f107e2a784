export { type AzothEventStore, type AzothEventStoreOptions, getAzothEventStore } from './azoth-event-store.js'
export { AzothEventStoreDefaultStreamVersion } from './expected-version.js'
export type { AzothReadEventMetadata } from './read-event.js'
