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
  // Every insert rewrites the nodes on its path, and the in-memory store
  // keeps them all: at 1,000,000 records that passes 20 GB. So every
  // SWEEP_EVERY inserts the blocks no longer reachable from the current
  // root are dropped (mark and sweep), with the clock stopped: the time
  // measured is the reference's own work only.
  const SWEEP_EVERY = 25000
  let swept = 0
  let paused = 0n
  const sweep = async () => {
    const p0 = process.hrtime.bigint()
    const live = new Set()
    for await (const cid of map.cids()) live.add(cid.toString())
    for (const k of store.blocks.keys()) {
      if (!live.has(k)) { store.blocks.delete(k); swept++ }
    }
    paused += process.hrtime.bigint() - p0
  }
  // REF_SECONDS=S stops after S seconds of the reference's own time and
  // reports the records done so far (partial=1): the reference slows down
  // as the map grows (about 1,700 records/s at first, 700 on average over
  // 100,000), so the rate up to there is an upper bound on its rate at N.
  const budget = process.env.REF_SECONDS ? BigInt(Math.round(Number(process.env.REF_SECONDS) * 1e9)) : 0n
  let done = n
  const t0 = process.hrtime.bigint()
  const map = await hmCreate(store, hashmapOptions(8, 3))
  for (let i = 0; i < n; i++) {
    if (budget && (i & 255) === 0 && process.hrtime.bigint() - t0 - paused > budget) {
      done = i
      break
    }
    const v = utf8(`{"id":${i},"title":"record number ${i}","body":"lorem ipsum dolor sit amet ${String(i).padStart(8, '0')}"}`)
    const cid = CID.create(1, RAW, await sha256.digest(v))
    values.set(cid.toString(), v)
    await map.set(`rec/${i}`, cid)
    if ((i + 1) % SWEEP_EVERY === 0 && i + 1 < n) {
      await sweep()
      if (process.stderr.isTTY || process.env.BENCH_PROGRESS) {
        const s = Number(process.hrtime.bigint() - t0 - paused) / 1e9
        process.stderr.write(`reference: ${i + 1} records, ${(i + 1) / s | 0} records/s\n`)
      }
    }
  }
  const secs = Number(process.hrtime.bigint() - t0 - paused) / 1e9
  let blocks = 0
  let bytes = 0
  for await (const cid of map.cids()) {
    blocks++
    bytes += (await store.get(cid)).length
  }
  for (const v of values.values()) { blocks++; bytes += v.length }
  const written = store.blocks.size + swept + values.size
  process.stdout.write(`records=${done} seconds=${secs.toFixed(3)} records_per_s=${Math.round(done / secs)} ` +
    `blocks=${blocks} bytes=${bytes} root=${map.cid} replaced_blocks=${written - blocks}` +
    (done < n ? ` partial=1 of=${n}` : '') + '\n')
}

run(main)
