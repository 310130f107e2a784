import { readdir } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { AzothError } from '@azothdb/core'
import type { Section } from './harness.js'

/** A section file found on disk; `name` is its file name without extension. */
export interface SectionFile {
  name: string
  path: string
}

const SECTION_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs'])

/**
 * Lists the section files of `dir` (`<name>.ts`, not `.d.ts`), sorted by name. Sections are only
 * listed here, not imported, so a broken section cannot stop the others from running.
 */
export async function listSectionFiles(dir: string): Promise<SectionFile[]> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (e) {
    throw new AzothError('NOT_FOUND', `cannot list bench sections in ${dir}`, { cause: e, details: { dir } })
  }
  const files = new Map<string, SectionFile>()
  for (const entry of entries) {
    const ext = extname(entry)
    if (!SECTION_EXTENSIONS.has(ext) || /\.d\.[mc]?ts$/.test(entry)) continue
    const name = basename(entry, ext)
    if (!files.has(name)) files.set(name, { name, path: join(dir, entry) })
  }
  return [...files.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/**
 * Picks the files named in `names` (all of them when `names` is empty), in listing order.
 * An unknown name raises `INVALID_ARGUMENT` listing the sections that exist.
 */
export function selectSectionFiles(files: readonly SectionFile[], names: readonly string[]): SectionFile[] {
  if (names.length === 0) return [...files]
  const known = new Set(files.map((f) => f.name))
  const unknown = names.filter((n) => !known.has(n))
  if (unknown.length > 0) {
    const available = files.length > 0 ? files.map((f) => f.name).join(', ') : '(none)'
    throw new AzothError(
      'INVALID_ARGUMENT',
      `unknown bench section${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; available: ${available}`,
      { details: { unknown, available: files.map((f) => f.name) } },
    )
  }
  const wanted = new Set(names)
  return files.filter((f) => wanted.has(f.name))
}

function isSection(v: unknown): v is Section {
  if (typeof v !== 'object' || v === null) return false
  const s = v as Record<string, unknown>
  return (
    typeof s['name'] === 'string' && typeof s['description'] === 'string' && typeof s['cases'] === 'function'
  )
}

/**
 * Imports a section file and checks its default export is a {@link Section} named like the file.
 * Anything else raises `CONFIG` naming the file.
 */
export async function loadSection(file: SectionFile): Promise<Section> {
  let mod: { default?: unknown }
  try {
    mod = (await import(pathToFileURL(file.path).href)) as { default?: unknown }
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e)
    throw new AzothError('CONFIG', `cannot import bench section ${file.path}: ${reason}`, {
      cause: e,
      details: { file: file.path },
    })
  }
  const section = mod.default
  if (!isSection(section)) {
    throw new AzothError(
      'CONFIG',
      `${file.path} must default-export a Section { name, description, cases(ctx) }`,
      { details: { file: file.path } },
    )
  }
  if (section.name !== file.name) {
    throw new AzothError(
      'CONFIG',
      `${file.path} exports section '${section.name}'; its name must match the file name '${file.name}'`,
      { details: { file: file.path, name: section.name } },
    )
  }
  return section
}
