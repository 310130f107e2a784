import { decodeCbor, encodeCbor } from '@azoth/core'
import { Decoder } from 'cbor-x'

const cborX = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })
const bytes = Array.from(encodeCbor(-6979321856))
console.log(Buffer.from(bytes).toString('hex'))
for (const [at, byte, kind] of [
  [651588313, 0, 2],
  [1845758766, 85, 0],
  [0, 0, 2],
  [266071419, 0, 2],
] as const) {
  const i = at % (bytes.length + 1)
  if (kind === 0) bytes[Math.min(i, bytes.length - 1)] = byte
  else if (kind === 1) bytes.splice(i, 0, byte)
  else bytes.splice(i, 1)
}
const b = Uint8Array.from(bytes)
console.log(Buffer.from(b).toString('hex'))
try {
  console.log('ours', decodeCbor(b, 't'))
} catch (e) {
  console.log('ours threw', (e as Error).message)
}
try {
  console.log('cbor-x', cborX.decode(b))
} catch (e) {
  console.log('cbor-x threw', (e as Error).message)
}
