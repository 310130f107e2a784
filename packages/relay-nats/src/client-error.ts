import { errors } from '@nats-io/transport-node'
import { AzothError, isAzothError } from 'azothdb'

/**
 * What the NATS client threw, as an Azoth error: a timeout is `TIMEOUT`, anything else from the
 * client or the server `IO` (both retried), keeping the client's error as `cause`.
 */
export function fromClientError(e: unknown, doing: string): AzothError {
  if (isAzothError(e)) return e
  const message = e instanceof Error ? e.message : String(e)
  const code = e instanceof errors.TimeoutError ? 'TIMEOUT' : 'IO'
  return new AzothError(code, `NATS: ${doing} failed: ${message}`, { cause: e, details: { doing } })
}
