export { projectionStoreConformance } from './conformance.js'
export type { ConformanceDatabase, ConformanceRunner, ProjectionStoreSubject } from './subject.js'
