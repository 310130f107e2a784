// Assembles scripts/chunk-checksums-wat.ts into src/chunk-checksums-wasm.ts (the module as base64),
// so the package ships no build step and no runtime dependency. Run after changing the generator:
//   pnpm --filter @azothdb/store-lmdb run build:wasm
// A test checks that the committed bytes are what this produces.

import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'
import { assembleWat, embeddedWasmSource } from '../../../scripts/embedded-wasm.js'
import { chunkChecksumsWat } from './chunk-checksums-wat.js'

/** The assembled module. */
export async function assembleChunkChecksumsWasm(): Promise<Uint8Array> {
  return assembleWat(await wabtInit(), 'chunk-checksums.wat', chunkChecksumsWat())
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../src/chunk-checksums-wasm.ts', import.meta.url))
  const source = embeddedWasmSource(await assembleChunkChecksumsWasm(), {
    generatedBy: 'scripts/build-chunk-checksums-wasm.ts from scripts/chunk-checksums-wat.ts',
    doc: 'The event chunk checksummer, a WebAssembly module (base64).',
    name: 'CHUNK_CHECKSUMS_WASM',
  })
  writeFileSync(target, source)
  console.log(`wrote ${target}`)
}
