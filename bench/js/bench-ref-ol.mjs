#!/usr/bin/env node
// Build a map of Open Library dump lines with the JavaScript reference
// (ipld-hashmap 3.0.4) as `hamt build --format ol` does: key = column 2,
// record = the bytes of column 5 as a raw block (0x55) linked from the map;
// bit width 8, bucket size 3, sha2-256; the last line of a key wins. Prints
//   records=N seconds=S records_per_s=R root=CID
// The time covers reading the file, hashing every record block and every
// insert (await map.set), in memory. Needs tests/interop/node_modules
// (npm ci in tests/interop).
//   node bench/js/bench-ref-ol.mjs FILE
import { readFile } from 'node:fs/promises'
import { hmCreate, CID, sha256, RAW, memStore, hashmapOptions, die, run } from '../../tests/interop/lib.mjs'

async function main () {
  if (process.argv.length !== 3) die('usage: node bench-ref-ol.mjs FILE')
  const t0 = process.hrtime.bigint()
  const data = await readFile(process.argv[2])
  const store = memStore()
  const map = await hmCreate(store, hashmapOptions(8, 3))
  let n = 0
  let start = 0
  while (start < data.length) {
    let end = data.indexOf(0x0a, start)
    if (end < 0) end = data.length
    let line = data.subarray(start, end)
    start = end + 1
    if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1)
    if (!line.length) continue
    // five columns: the first four tabs split them
    const tabs = []
    for (let i = 0; i < line.length && tabs.length < 4; i++) if (line[i] === 0x09) tabs.push(i)
    if (tabs.length < 4) die(`line ${n + 1}: not 5 columns`)
    const key = line.subarray(tabs[0] + 1, tabs[1])
    const rec = Uint8Array.from(line.subarray(tabs[3] + 1))
    const cid = CID.create(1, RAW, await sha256.digest(rec))
    await map.set(Uint8Array.from(key), cid)
    n++
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  process.stdout.write(`records=${n} seconds=${secs.toFixed(3)} records_per_s=${Math.round(n / secs)} root=${map.cid}\n`)
}

run(main)
