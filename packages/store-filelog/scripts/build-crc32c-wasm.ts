// Assembles scripts/crc32c-wat.ts into src/record-checksums-wasm.ts (the module as base64), so the
// package ships no build step and no runtime dependency. Run after changing the generator:
//   pnpm --filter @azothdb/store-filelog run build:wasm
// A test checks that the committed bytes are what this produces.

import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'
import { assembleWat, embeddedWasmSource } from '../../../scripts/embedded-wasm.js'
import { crc32cWat } from './crc32c-wat.js'

/** The assembled module. */
export async function assembleCrc32cWasm(): Promise<Uint8Array> {
  return assembleWat(await wabtInit(), 'crc32c.wat', crc32cWat())
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = fileURLToPath(new URL('../src/record-checksums-wasm.ts', import.meta.url))
  const source = embeddedWasmSource(await assembleCrc32cWasm(), {
    generatedBy: 'scripts/build-crc32c-wasm.ts from scripts/crc32c-wat.ts',
    doc: '@internal The bulk record checksummer, a WebAssembly module (base64).',
    name: 'RECORD_CHECKSUMS_WASM',
  })
  writeFileSync(target, source)
  console.log(`wrote ${target}`)
}
