export type { BatchPolicy, ResolvedBatchPolicy } from './batch-policy.js'
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js'
export type {
  DeadLetterQueueOptions,
  DeadLetterRetryResult,
  ProjectorDeadLetters,
} from './dead-letter-queue.js'
export {
  ErrorStrategy,
  type FailureContext,
  type FailureDecision,
  type RetryWithBackoffOptions,
} from './error-strategy.js'
export { Projector } from './projector.js'
export { ProjectorBuilder } from './projector-builder.js'
export { ProjectorGroup } from './projector-group.js'
export type { ProjectorErrorInfo, ProjectorMetrics, ProjectorState } from './projector-metrics.js'
export type { ProjectorOptions } from './projector-options.js'
export type { RunOnceOptions, RunProgress, RunStats, RunStopReason } from './run-stats.js'
