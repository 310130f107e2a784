import { randomUUID } from 'node:crypto'
import type { Message, MessageConsumerOptions, MessageProcessor } from '@event-driven-io/emmett'
import { AzothError } from 'azothdb'

/** Default of `pulling.batchSize`: Emmett's SQL consumers pull 100 messages at a time too. */
export const DEFAULT_BATCH_SIZE = 100
/** Default of `handlerTimeoutMs`: as Azoth's projectors, long enough for a slow webhook, short enough that nothing waits forever. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000

/**
 * Options of `eventStore.consumer()`: Emmett's `MessageConsumerOptions` (`consumerId`,
 * `processors`), how many events a batch holds, and how long a processor may take over one call.
 */
export type AzothEventStoreConsumerOptions<ConsumerMessageType extends Message = Message> =
  MessageConsumerOptions<ConsumerMessageType> & {
    /** How events are read. */
    readonly pulling?: {
      /** Stream events per batch at most (default 100): a batch holds what is stored, never waits to fill. */
      readonly batchSize?: number
    }
    /**
     * How long a processor's `start`, `close` or `handle` of one batch may take, in ms (default
     * 30,000; at most 2,147,483,647, the longest timer Node keeps). Past it, the call counts as failed for that processor (see the README), so neither
     * `start()`, `stop()` nor `close()` waits forever.
     */
    readonly handlerTimeoutMs?: number
  }

/** The consumer's options, checked: what it runs with. */
export interface ConsumerSettings {
  readonly consumerId: string
  // biome-ignore lint/suspicious/noExplicitAny: Emmett's consumer holds processors of any context
  readonly processors: MessageProcessor<any, any, any, any>[]
  readonly batchSize: number
  readonly handlerTimeoutMs: number
}

const FIELDS = new Set(['consumerId', 'processors', 'pulling', 'handlerTimeoutMs'])

function invalid(message: string, details: Record<string, unknown>): never {
  throw new AzothError('INVALID_ARGUMENT', message, { details })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object'
}

/** The longest timer Node keeps: past it (a 32-bit signed int of ms) a timer fires after 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647

function positiveInteger(
  value: unknown,
  field: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= max) return value
  return invalid(`consumer ${field} must be an integer from 1 to ${max}`, { field, value: String(value) })
}

/** Checks that `processor` has what the consumer calls: an id, `start`, `handle` and `close`. */
// biome-ignore lint/suspicious/noExplicitAny: see ConsumerSettings
export function checkProcessor(processor: unknown): MessageProcessor<any, any, any, any> {
  if (
    !isObject(processor) ||
    typeof processor['id'] !== 'string' ||
    typeof processor['start'] !== 'function' ||
    typeof processor['handle'] !== 'function' ||
    typeof processor['close'] !== 'function'
  ) {
    return invalid("a consumer's processors must be Emmett MessageProcessors (id, start, handle, close)", {
      field: 'processors',
    })
  }
  // biome-ignore lint/suspicious/noExplicitAny: see ConsumerSettings
  return processor as unknown as MessageProcessor<any, any, any, any>
}

/** The consumer's settings, or `INVALID_ARGUMENT` naming the first bad field. */
export function consumerSettings(options: unknown): ConsumerSettings {
  if (options === undefined) options = {}
  if (!isObject(options)) return invalid('consumer options must be an object', {})
  for (const field of Object.keys(options)) {
    if (!FIELDS.has(field)) invalid(`unknown consumer option '${field}'`, { field })
  }
  const { consumerId, processors, pulling, handlerTimeoutMs } = options
  if (consumerId !== undefined && (typeof consumerId !== 'string' || consumerId === '')) {
    invalid('consumerId must be a non-empty string', { field: 'consumerId' })
  }
  if (processors !== undefined && !Array.isArray(processors)) {
    invalid('processors must be an array of Emmett MessageProcessors', { field: 'processors' })
  }
  if (pulling !== undefined && !isObject(pulling)) invalid('pulling must be an object', { field: 'pulling' })
  return {
    consumerId: (consumerId as string | undefined) ?? randomUUID(),
    processors: ((processors as unknown[] | undefined) ?? []).map(checkProcessor),
    batchSize: positiveInteger(pulling?.['batchSize'], 'pulling.batchSize', DEFAULT_BATCH_SIZE),
    handlerTimeoutMs: positiveInteger(
      handlerTimeoutMs,
      'handlerTimeoutMs',
      DEFAULT_HANDLER_TIMEOUT_MS,
      MAX_TIMEOUT_MS,
    ),
  }
}
