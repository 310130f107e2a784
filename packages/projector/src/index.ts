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
export { EventProcessor, type EventProcessorOptions } from './event-processor.js'
export type { EventProcessorBuilder } from './event-processor-builder.js'
export { ProjectorGroup } from './projector-group.js'
export type { ProjectorErrorInfo, ProjectorMetrics, ProjectorState } from './projector-metrics.js'
export type { RunOnceOptions, RunProgress, RunStats, RunStopReason } from './run-stats.js'
