// azothdb/testing: given/when/then specifications of deciders and projections, for any test runner.
export type { CommandDecision } from './command-handler.js'
export {
  type Decider,
  type DeciderGiven,
  DeciderSpecification,
  type DeciderThen,
  type DeciderWhen,
  type ErrorClass,
} from './decider-specification.js'
export {
  type ProjectionEventInput,
  type ProjectionGiven,
  type ProjectionQuery,
  ProjectionSpecification,
  type ProjectionSpecificationOptions,
  type ProjectionThen,
  type ProjectionWhen,
} from './projection-specification.js'
