import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'

/**
 * Every socket the store's connections use (pools, projector locks), so `close()` can end them
 * even when the server stopped answering: `pg`'s graceful end sends Terminate and waits for the
 * server to close its side, which a frozen server (SIGSTOP, a black-holed peer) never does.
 */
export class ConnectionSockets {
  readonly #open = new Set<Socket>()
  #emptied: (() => void) | undefined

  /** The `stream` option of `pg`: the plain socket `pg` would create itself, remembered until it closes. */
  readonly stream = (): Duplex => {
    const socket = new Socket()
    this.#open.add(socket)
    socket.once('close', () => {
      this.#open.delete(socket)
      if (this.#open.size === 0) this.#emptied?.()
    })
    return socket
  }

  /** Resolves once no socket is open any more. */
  allClosed(): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const previous = this.#emptied
      this.#emptied = () => {
        this.#emptied = undefined
        previous?.()
        resolve()
      }
    })
  }

  /** Destroys every open socket: `pg` rejects what was pending on them and they close. */
  destroyAll(): void {
    for (const socket of this.#open) socket.destroy()
  }
}
