import {
  checkKnownFields,
  checkOption,
  optional,
  type Rule,
  rules,
  withMethods,
} from '@azothdb/core/internal'
import type { NatsConnection } from '@nats-io/transport-node'
import { type AzothEvent, ConfigError, type Logger } from 'azothdb'
import { type EncodedPayload, encodeJson } from './message.js'
import { defaultSubject } from './subject.js'

/** How {@link startNatsRelay} reaches NATS and what it publishes. */
export interface NatsRelayOptions {
  /** NATS server URLs (`'nats://host:4222'` or several): the relay connects, reconnects forever and closes on stop. */
  readonly servers?: string | readonly string[]
  /** A connection of your own instead of `servers`: the relay uses it and leaves it open on stop. */
  readonly connection?: NatsConnection
  /** The JetStream stream the events go to. One database per stream: the relay resumes from its last message. */
  readonly stream: string
  /**
   * The first token of the default subjects (default `'azoth'`): streams of one NATS account cannot
   * share subjects, so each database shipped there needs a prefix of its own.
   */
  readonly subjectPrefix?: string
  /**
   * The subjects of the stream when the relay has to create it (default `['<subjectPrefix>.>']`);
   * an existing stream is used as it is, and must capture every subject the `subject` option gives.
   */
  readonly streamSubjects?: readonly string[]
  /** The subject of an event (default {@link defaultSubject}: `<subjectPrefix>.<category>.<type>`). */
  readonly subject?: (event: AzothEvent) => string
  /** The message body of an event (default: JSON, raw bytes as they are; see {@link encodeJson}). */
  readonly encode?: (event: AzothEvent) => EncodedPayload
  /**
   * Names this database in message ids (`<source>:<event id>`) and the `Azoth-Source` header
   * (default: the stream name). Letters, digits, `_`, `-` and `.` only.
   */
  readonly source?: string
  /** Events read from the database per step (default 256). */
  readonly batchSize?: number
  /** Most publishes awaiting their acknowledgement at any time (default 256). */
  readonly maxInFlight?: number
  /** How long one publish waits for its acknowledgement, in ms (default 5000). */
  readonly ackTimeoutMs?: number
  /** First wait after a failure, in ms (default 100); doubles per failure in a row. */
  readonly retryInitialDelayMs?: number
  /** Longest wait between attempts, in ms (default 5000). */
  readonly retryMaxDelayMs?: number
  /** How long `stop()` waits for acknowledgements in flight before it gives up on them, in ms (default 5000). */
  readonly stopTimeoutMs?: number
  /** The first event to publish when the stream holds none (default 1). */
  readonly from?: number
  /** Where the relay logs (default: the database's logger). */
  readonly logger?: Logger
}

/** The options with their defaults filled in. */
export interface ResolvedRelayOptions {
  readonly servers: readonly string[] | undefined
  readonly connection: NatsConnection | undefined
  readonly stream: string
  readonly streamSubjects: readonly string[]
  readonly subject: (event: AzothEvent) => string
  readonly encode: (event: AzothEvent) => EncodedPayload
  readonly source: string
  readonly batchSize: number
  readonly maxInFlight: number
  readonly ackTimeoutMs: number
  readonly retryInitialDelayMs: number
  readonly retryMaxDelayMs: number
  readonly stopTimeoutMs: number
  readonly from: number
  readonly logger: Logger | undefined
}

const KNOWN = [
  'servers',
  'connection',
  'stream',
  'subjectPrefix',
  'streamSubjects',
  'subject',
  'encode',
  'source',
  'batchSize',
  'maxInFlight',
  'ackTimeoutMs',
  'retryInitialDelayMs',
  'retryMaxDelayMs',
  'stopTimeoutMs',
  'from',
  'logger',
]

// JetStream's rule for stream names: no whitespace, `.`, `*`, `>`, path separators or control characters.
const streamName: Rule<string> = {
  expected: 'a JetStream stream name (no whitespace, ".", "*", ">", "/" or "\\")',
  test: (v): v is string =>
    typeof v === 'string' && v.length > 0 && v.length <= 255 && !/[\s.*>/\\\p{Cc}]/u.test(v),
}
const sourceName: Rule<string> = {
  expected: 'letters, digits, "_", "-" and "." (1 to 128 of them)',
  test: (v): v is string => typeof v === 'string' && /^[A-Za-z0-9_.-]{1,128}$/.test(v),
}
const serverList: Rule<string | readonly string[]> = {
  expected: 'a server URL or a non-empty array of them',
  test: (v): v is string | readonly string[] =>
    (typeof v === 'string' && v !== '') ||
    (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '')),
}
const subjectPrefix: Rule<string> = {
  expected: 'subject tokens without wildcards or whitespace (e.g. "azoth" or "shop.events")',
  test: (v): v is string =>
    typeof v === 'string' &&
    v.split('.').every((t) => t !== '' && t !== '*' && t !== '>' && !/[\s\p{Cc}]/u.test(t)),
}
const subjectList: Rule<readonly string[]> = {
  expected: 'a non-empty array of subjects',
  test: (v): v is readonly string[] =>
    Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== ''),
}
const connection = withMethods<NatsConnection>('a NatsConnection', ['request', 'publish', 'status', 'close'])

/** Checks every option up front (`CONFIG`) and fills in the defaults. */
export function resolveRelayOptions(options: unknown): ResolvedRelayOptions {
  checkOption('startNatsRelay options', options, rules.object)
  checkKnownFields('startNatsRelay', options, KNOWN)
  const o = options as NatsRelayOptions
  const servers = checkOption('servers', o.servers, optional(serverList))
  const conn = checkOption('connection', o.connection, optional(connection))
  if ((servers === undefined) === (conn === undefined)) {
    throw new ConfigError('startNatsRelay needs exactly one of servers and connection', {
      details: { field: 'servers' },
    })
  }
  const stream = checkOption('stream', o.stream, streamName)
  const retryInitialDelayMs = checkOption(
    'retryInitialDelayMs',
    o.retryInitialDelayMs ?? 100,
    rules.positiveNumber,
  )
  const retryMaxDelayMs = checkOption('retryMaxDelayMs', o.retryMaxDelayMs ?? 5000, rules.positiveNumber)
  if (retryMaxDelayMs < retryInitialDelayMs) {
    throw new ConfigError('retryMaxDelayMs must be at least retryInitialDelayMs', {
      details: { field: 'retryMaxDelayMs' },
    })
  }
  const prefix = checkOption('subjectPrefix', o.subjectPrefix ?? 'azoth', subjectPrefix)
  return {
    servers: servers === undefined ? undefined : typeof servers === 'string' ? [servers] : [...servers],
    connection: conn,
    stream,
    streamSubjects: [...checkOption('streamSubjects', o.streamSubjects ?? [`${prefix}.>`], subjectList)],
    subject: checkOption(
      'subject',
      o.subject ?? ((e: AzothEvent) => defaultSubject(e, prefix)),
      rules.function,
    ) as (e: AzothEvent) => string,
    encode: checkOption('encode', o.encode ?? encodeJson, rules.function) as (
      e: AzothEvent,
    ) => EncodedPayload,
    source: checkOption('source', o.source ?? stream, sourceName),
    batchSize: checkOption('batchSize', o.batchSize ?? 256, rules.positiveInteger),
    maxInFlight: checkOption('maxInFlight', o.maxInFlight ?? 256, rules.positiveInteger),
    ackTimeoutMs: checkOption('ackTimeoutMs', o.ackTimeoutMs ?? 5000, rules.positiveInteger),
    retryInitialDelayMs,
    retryMaxDelayMs,
    stopTimeoutMs: checkOption('stopTimeoutMs', o.stopTimeoutMs ?? 5000, rules.positiveInteger),
    from: checkOption('from', o.from ?? 1, rules.positiveInteger),
    logger: checkOption('logger', o.logger, optional(rules.logger)),
  }
}
