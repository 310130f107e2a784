import { type BenchPgServer, startPgServer } from '../pg-server.js'
import type { EmmettSide } from './emmett-side.js'

/**
 * One PostgreSQL server for the sides that need it: started by the first side that opens, stopped
 * and removed when the last one closes (also when a side fails to open), so no server outlives the
 * section's process.
 */
export class SharedPgServer {
  #server: BenchPgServer | undefined
  #users = 0

  /** Opens `open` over a fresh database of the shared server; closing the side releases the server. */
  async side(open: (url: string) => Promise<EmmettSide>): Promise<EmmettSide> {
    try {
      if (this.#users++ === 0) this.#server = await startPgServer()
      const side = await open(await this.#server!.createDatabase())
      return {
        ...side,
        close: async () => {
          try {
            await side.close()
          } finally {
            this.#release()
          }
        },
      }
    } catch (e) {
      this.#release()
      throw e
    }
  }

  #release(): void {
    if (--this.#users === 0) {
      const server = this.#server
      this.#server = undefined
      server?.destroy()
    }
  }
}
