import { type FileSystem, nodeFileSystem } from '@azothdb/core/internal'

/** The operations a {@link FaultyFileSystem} can fail. */
export type FaultOp = 'write' | 'fdatasync' | 'fsync' | 'ftruncate' | 'open' | 'rename' | 'writeFile'

interface Fault {
  readonly errno: string
  /** Calls of the operation to let through before failing. */
  skip: number
  /** Failures left (Infinity: until cleared). */
  left: number
}

const ERRNO: Record<string, number> = { EIO: -5, ENOSPC: -28, EDQUOT: -122 }

/** An error as node:fs throws it: `code` is the errno's name. */
export function errnoError(errno: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${errno}: injected fault, ${syscall}`), {
    code: errno,
    errno: ERRNO[errno] ?? -1,
    syscall,
  })
}

/**
 * node:fs with failures on cue: `failOn('write', 'EIO')` makes every write fail until `clear()`,
 * `shortWrites = n` makes every write write at most n bytes (as write(2) may). The operations
 * really happen otherwise, so what reaches the files is what a real disk would hold.
 */
export class FaultyFileSystem implements FileSystem {
  /** Calls seen per operation (failed ones included). */
  readonly calls: Record<FaultOp, number> = {
    write: 0,
    fdatasync: 0,
    fsync: 0,
    ftruncate: 0,
    open: 0,
    rename: 0,
    writeFile: 0,
  }
  /** Bytes one write call writes at most (0: no limit). */
  shortWrites = 0
  readonly #faults = new Map<FaultOp, Fault>()
  readonly #fs = nodeFileSystem

  /** Fails `op` with `errno` after `skip` more calls succeed, `times` times (default: until cleared). */
  failOn(op: FaultOp, errno: string, options: { skip?: number; times?: number } = {}): this {
    this.#faults.set(op, { errno, skip: options.skip ?? 0, left: options.times ?? Number.POSITIVE_INFINITY })
    return this
  }

  /** The fault clears: every operation works again (short writes stay as set). */
  clear(): void {
    this.#faults.clear()
  }

  #check(op: FaultOp, syscall: string): void {
    this.calls[op]++
    const fault = this.#faults.get(op)
    if (fault === undefined) return
    if (fault.skip > 0) {
      fault.skip--
      return
    }
    if (fault.left <= 0) return
    fault.left--
    throw errnoError(fault.errno, syscall)
  }

  openSync(path: string, flags: string): number {
    this.#check('open', 'open')
    return this.#fs.openSync(path, flags)
  }

  closeSync(fd: number): void {
    this.#fs.closeSync(fd)
  }

  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.#check('write', 'write')
    const n = this.shortWrites > 0 ? Math.min(length, this.shortWrites) : length
    return this.#fs.writeSync(fd, buffer, offset, n, position)
  }

  ftruncateSync(fd: number, length: number): void {
    this.#check('ftruncate', 'ftruncate')
    this.#fs.ftruncateSync(fd, length)
  }

  async fdatasync(fd: number): Promise<void> {
    this.#check('fdatasync', 'fdatasync')
    await this.#fs.fdatasync(fd)
  }

  async fsync(fd: number): Promise<void> {
    this.#check('fsync', 'fsync')
    await this.#fs.fsync(fd)
  }

  fsyncSync(fd: number): void {
    this.#check('fsync', 'fsync')
    this.#fs.fsyncSync(fd)
  }

  unlinkSync(path: string): void {
    this.#fs.unlinkSync(path)
  }

  async rename(from: string, to: string): Promise<void> {
    this.#check('rename', 'rename')
    await this.#fs.rename(from, to)
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.#check('writeFile', 'write')
    await this.#fs.writeFile(path, data)
  }
}
