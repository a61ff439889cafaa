#!/usr/bin/env node
// Build N synthetic records with the JavaScript reference (ipld-hashmap
// 3.0.4) into an in-memory block store and print one line:
//   records=N seconds=S records_per_s=R blocks=B bytes=Y root=CID
// Records are those of bench/run_build.sh: key "rec/<i>", value
//   {"id":<i>,"title":"record number <i>","body":"lorem ipsum dolor sit amet <i, 8 digits>"}
// stored as a raw block (0x55) linked from the map; bit width 8, bucket
// size 3; sha2-256, DAG-CBOR, CIDv1 - so the root must equal hamt build's.
// The reference inserts one record at a time (await map.set); the time
// covers hashing the value blocks and every insert. blocks/bytes count the
// blocks reachable from the root (HAMT nodes + value blocks); the blocks the
// reference wrote and then replaced while inserting are counted apart.
// Needs tests/interop/node_modules (npm ci in tests/interop).
//   node bench/js/bench-ref.mjs N
import { hmCreate, CID, sha256, RAW, memStore, hashmapOptions, utf8, die, run } from '../../tests/interop/lib.mjs'

async function main () {
  const arg = process.argv[2]
  if (process.argv.length !== 3 || !/^[0-9]+$/.test(arg)) die('usage: node bench-ref.mjs N')
  const n = Number(arg)
  const store = memStore()
  const values = new Map()
  const t0 = process.hrtime.bigint()
  const map = await hmCreate(store, hashmapOptions(8, 3))
  for (let i = 0; i < n; i++) {
    const v = utf8(`{"id":${i},"title":"record number ${i}","body":"lorem ipsum dolor sit amet ${String(i).padStart(8, '0')}"}`)
    const cid = CID.create(1, RAW, await sha256.digest(v))
    values.set(cid.toString(), v)
    await map.set(`rec/${i}`, cid)
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  let blocks = 0
  let bytes = 0
  for await (const cid of map.cids()) {
    blocks++
    bytes += (await store.get(cid)).length
  }
  for (const v of values.values()) { blocks++; bytes += v.length }
  const written = store.blocks.size + values.size
  process.stdout.write(`records=${n} seconds=${secs.toFixed(3)} records_per_s=${Math.round(n / secs)} ` +
    `blocks=${blocks} bytes=${bytes} root=${map.cid} replaced_blocks=${written - blocks}\n`)
}

run(main)
