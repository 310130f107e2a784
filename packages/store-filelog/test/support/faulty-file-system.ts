import { type FileSystem, nodeFileSystem } from '@azothdb/core/internal'

/** The operations a {@link FaultyFileSystem} can fail. */
export type FaultOp =
  | 'write'
  | 'fdatasync'
  | 'fsync'
  | 'ftruncate'
  | 'open'
  | 'rename'
  | 'writeFile'
  | 'read'
  | 'fstat'
  | 'readFile'

interface Fault {
  readonly errno: string
  /** Calls of the operation to let through before failing. */
  skip: number
  /** Failures left (Infinity: until cleared). */
  left: number
  /** Only calls on files this accepts fail (and count towards `skip`). */
  readonly file: (path: string) => boolean
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
 * `shortWrites = n` makes every write write at most n bytes (as write(2) may), `shortReads = n`
 * every read read at most n. The operations really happen otherwise, so what reaches the files is
 * what a real disk would hold.
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
    read: 0,
    fstat: 0,
    readFile: 0,
  }
  /** Bytes one write call writes at most (0: no limit). */
  shortWrites = 0
  /** Bytes one read call reads at most (0: no limit). */
  shortReads = 0
  readonly #faults = new Map<FaultOp, Fault>()
  readonly #fs = nodeFileSystem
  /** The path each descriptor opened here names (for faults limited to some files). */
  readonly #paths = new Map<number, string>()

  /**
   * Fails `op` with `errno` after `skip` more calls succeed, `times` times (default: until
   * cleared); with `file`, only calls on files it accepts fail or count.
   */
  failOn(
    op: FaultOp,
    errno: string,
    options: { skip?: number; times?: number; file?: (path: string) => boolean } = {},
  ): this {
    this.#faults.set(op, {
      errno,
      skip: options.skip ?? 0,
      left: options.times ?? Number.POSITIVE_INFINITY,
      file: options.file ?? (() => true),
    })
    return this
  }

  /** The fault clears: every operation works again (short writes stay as set). */
  clear(): void {
    this.#faults.clear()
  }

  #check(op: FaultOp, syscall: string, path = ''): void {
    this.calls[op]++
    const fault = this.#faults.get(op)
    if (fault === undefined || !fault.file(path)) return
    if (fault.skip > 0) {
      fault.skip--
      return
    }
    if (fault.left <= 0) return
    fault.left--
    throw errnoError(fault.errno, syscall)
  }

  openSync(path: string, flags: string): number {
    this.#check('open', 'open', path)
    const fd = this.#fs.openSync(path, flags)
    this.#paths.set(fd, path)
    return fd
  }

  closeSync(fd: number): void {
    this.#paths.delete(fd)
    this.#fs.closeSync(fd)
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.#check('read', 'read', this.#paths.get(fd))
    const n = this.shortReads > 0 ? Math.min(length, this.shortReads) : length
    return this.#fs.readSync(fd, buffer, offset, n, position)
  }

  fstatSync(fd: number): { readonly size: number; readonly ino: number } {
    this.#check('fstat', 'fstat', this.#paths.get(fd))
    return this.#fs.fstatSync(fd)
  }

  readFileSync(path: string): Buffer {
    this.#check('readFile', 'read', path)
    return this.#fs.readFileSync(path)
  }

  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    this.#check('write', 'write', this.#paths.get(fd))
    const n = this.shortWrites > 0 ? Math.min(length, this.shortWrites) : length
    return this.#fs.writeSync(fd, buffer, offset, n, position)
  }

  ftruncateSync(fd: number, length: number): void {
    this.#check('ftruncate', 'ftruncate', this.#paths.get(fd))
    this.#fs.ftruncateSync(fd, length)
  }

  async fdatasync(fd: number): Promise<void> {
    this.#check('fdatasync', 'fdatasync', this.#paths.get(fd))
    await this.#fs.fdatasync(fd)
  }

  async fsync(fd: number): Promise<void> {
    this.#check('fsync', 'fsync', this.#paths.get(fd))
    await this.#fs.fsync(fd)
  }

  fsyncSync(fd: number): void {
    this.#check('fsync', 'fsync', this.#paths.get(fd))
    this.#fs.fsyncSync(fd)
  }

  unlinkSync(path: string): void {
    this.#fs.unlinkSync(path)
  }

  async rename(from: string, to: string): Promise<void> {
    this.#check('rename', 'rename', from)
    await this.#fs.rename(from, to)
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.#check('writeFile', 'write', path)
    await this.#fs.writeFile(path, data)
  }
}
