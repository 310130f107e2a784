import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** Every file and directory under `dir` with its size, mtime and content hash: equal means untouched. */
export function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    const full = join(dir, rel)
    const st = statSync(full)
    if (st.isDirectory()) {
      out[`${rel}/`] = 'dir'
      for (const name of readdirSync(full).sort()) walk(rel === '' ? name : join(rel, name))
    } else {
      const sha = createHash('sha256').update(readFileSync(full)).digest('hex').slice(0, 16)
      out[rel] = `${st.size} ${st.mtimeMs} ${sha}`
    }
  }
  if (existsSync(dir)) walk('')
  return out
}
