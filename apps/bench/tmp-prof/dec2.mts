import { decodeCbor, decodeEnvelopeHeader, decodeEvent } from '@azoth/core'
import { Decoder } from 'cbor-x'

const env = Buffer.from(
  '0100000001a205ad02ac00094465706f7369746564a2676163636f756e7466616363742d3066616d6f756e7401',
  'hex',
)
const envs: Uint8Array[] = []
for (let i = 0; i < 1000; i++) {
  const b = new Uint8Array(env.length + 8)
  b.set(env, 8)
  envs.push(b.subarray(8))
}
const pay = env.subarray(env.length - 24)
const plain = new Decoder({ useRecords: false, mapsAsObjects: true })
const copy = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true })
function bench(name: string, f: (b: Uint8Array, i: number) => unknown) {
  let best = 1e9
  for (let r = 0; r < 20; r++) {
    const t0 = process.hrtime.bigint()
    let s = 0
    for (let k = 0; k < 200; k++)
      for (let i = 0; i < 1000; i++) {
        if (f(envs[i]!, i) !== undefined) s++
      }
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 200_000)
  }
  console.log(name.padEnd(30), best.toFixed(0), 'ns')
}
const pays = envs.map((e) => e.subarray(e.length - 24))
const payCopies = envs.map((e) => {
  const c = new Uint8Array(24)
  c.set(e.subarray(e.length - 24))
  return c
})
bench('decodeEvent', (b, i) => decodeEvent(i + 1, b))
bench('decodeEnvelopeHeader', (b) => decodeEnvelopeHeader(b))
bench('decodeCbor (subarray)', (b, i) => decodeCbor(pays[i]!, 'x'))
bench('cbor-x plain same buffer', (b, i) => plain.decode(payCopies[i]!))
bench('cbor-x plain subarray', (b, i) => plain.decode(pays[i]!))
bench('JSON.parse', () => JSON.parse('{"account":"acct-0","amount":1}'))
