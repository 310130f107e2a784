/** What a relay is doing. */
export type NatsRelayState = 'starting' | 'running' | 'retrying' | 'stopped' | 'failed'

/** A relay's counters, from {@link NatsRelay.metrics}. */
export interface NatsRelayMetrics {
  /** What it is doing now. */
  readonly state: NatsRelayState
  /** Events JetStream stored since the relay started (duplicates not counted). */
  readonly published: number
  /** Publishes JetStream acknowledged as duplicates of a message it already held. */
  readonly duplicates: number
  /** The id of the last event JetStream holds, as far as the relay knows (0: none). */
  readonly lastAckedId: number
  /** The database's head minus `lastAckedId`: events committed and not yet in JetStream. */
  readonly lag: number
  /** Publishes sent and not yet acknowledged (never above `maxInFlight`). */
  readonly inFlight: number
  /** Times the connection came back after a disconnection. */
  readonly reconnects: number
  /** Failures retried (each after a backoff, resuming from what JetStream holds). */
  readonly retries: number
  /** The last failure, or undefined. */
  readonly lastError: Error | undefined
}
