import {
  closeSync,
  fdatasync,
  fstatSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import { rename, writeFile } from 'node:fs/promises'
import { ConfigError } from './errors.js'

/**
 * The file operations a store reads and changes its files with: node:fs by default
 * ({@link nodeFileSystem}). One narrow door, so that tests can put real I/O failures where no disk
 * produces them on cue (EIO on a read or a write, EIO or ENOSPC from fsync, short reads and writes)
 * and check what the store does with them. Failures are thrown (or rejected) as Node errors with
 * `code` set to the errno.
 */
export interface FileSystem {
  openSync(path: string, flags: string): number
  closeSync(fd: number): void
  /**
   * Reads at most `length` bytes at `position` and returns how many it read: fewer is a short read,
   * which only 0 marks as the end of the file.
   */
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number
  /** The size (and inode number) of an open file. */
  fstatSync(fd: number): { readonly size: number; readonly ino: number }
  /** A whole file (a small one: a sidecar, a marker). */
  readFileSync(path: string): Buffer
  /** Writes at most `length` bytes at `position` and returns how many it wrote: fewer is a short write. */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number
  ftruncateSync(fd: number, length: number): void
  /** fdatasync(2), on the libuv thread pool. */
  fdatasync(fd: number): Promise<void>
  /** fsync(2) (of a file or a directory), on the libuv thread pool. */
  fsync(fd: number): Promise<void>
  fsyncSync(fd: number): void
  unlinkSync(path: string): void
  rename(from: string, to: string): Promise<void>
  writeFile(path: string, data: Uint8Array): Promise<void>
}

/** node:fs behind {@link FileSystem}. */
export const nodeFileSystem: FileSystem = Object.freeze({
  openSync: (path: string, flags: string) => openSync(path, flags),
  closeSync,
  readSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
    readSync(fd, buffer, offset, length, position),
  fstatSync: (fd: number) => fstatSync(fd),
  readFileSync: (path: string) => readFileSync(path),
  writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
    writeSync(fd, buffer, offset, length, position),
  ftruncateSync: (fd: number, length: number) => ftruncateSync(fd, length),
  fdatasync: (fd: number) =>
    new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve()))),
  fsync: (fd: number) =>
    new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve()))),
  fsyncSync,
  unlinkSync,
  rename,
  writeFile: (path: string, data: Uint8Array) => writeFile(path, data),
})

/**
 * fsync of a file or a directory, synchronously (a directory's fsync makes the names in it durable:
 * files created, renamed or removed). The one copy every store's restore and rename steps use.
 */
export function fsyncPathSync(path: string, fs: FileSystem = nodeFileSystem): void {
  const fd = fs.openSync(path, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * The option key under which our packages pass a {@link FileSystem} on (the file log's options, the
 * facade's `Azoth.open` options). A symbol, so it is no public option: no field name reaches a
 * type or a README, `checkKnownFields` (which looks at string keys) never sees it, and only code
 * that imports this internal entry can set it.
 */
export const FILE_SYSTEM: unique symbol = Symbol.for('azothdb.fileSystem')

const METHODS: readonly (keyof FileSystem)[] = [
  'openSync',
  'closeSync',
  'readSync',
  'fstatSync',
  'readFileSync',
  'writeSync',
  'ftruncateSync',
  'fdatasync',
  'fsync',
  'fsyncSync',
  'unlinkSync',
  'rename',
  'writeFile',
]

/** The {@link FileSystem} under {@link FILE_SYSTEM} in `options`, or undefined; anything else is `CONFIG`. */
export function fileSystemOf(options: unknown): FileSystem | undefined {
  if (typeof options !== 'object' || options === null) return undefined
  const fs = (options as { [FILE_SYSTEM]?: unknown })[FILE_SYSTEM]
  if (fs === undefined) return undefined
  if (
    typeof fs !== 'object' ||
    fs === null ||
    METHODS.some((m) => typeof (fs as FileSystem)[m] !== 'function')
  ) {
    throw new ConfigError('the file system option must implement FileSystem', {
      details: { field: 'fileSystem' },
    })
  }
  return fs as FileSystem
}
