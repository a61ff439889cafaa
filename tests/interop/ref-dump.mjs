#!/usr/bin/env node
// Load an IPLD HashMap from a CAR with the JavaScript reference
// (ipld-hashmap 3.0.4) and print every entry as one JSON line, sorted by the
// key bytes:
//   {"key": "<key as string>", "value": <rendering>}
// where the rendering follows the hamtfs "file contents" rules:
//   link to raw       -> {"raw": "<base64 of the block>"}
//   link to dag-cbor  -> {"dagjson": "<DAG-JSON text of the decoded block>"}
//   inline bytes      -> {"bytes": "<base64>"}
//   inline string     -> {"string": "..."}
//   anything else     -> {"dagjson": "<DAG-JSON text of the value>"}
// With --contents, print {"key": ..., "text": "<file contents>"} instead
// ("base64" for contents that are not UTF-8): what `hamt get` prints; see
// our-dump.mjs.
//
//   node ref-dump.mjs [--contents] IN.car [ROOT]
// ROOT defaults to the first root in the CAR header.
import {
  hmLoad, CID, openCar, render, listingLine, compareBytes, hashmapOptions,
  parseArgs, die, run
} from './lib.mjs'

const USAGE = 'node ref-dump.mjs [--contents] IN.car [ROOT]'

async function main () {
  const { opts, args } = parseArgs(process.argv.slice(2), { contents: false }, USAGE)
  if (args.length < 1 || args.length > 2) die(`usage: ${USAGE}`)
  const car = await openCar(args[0])
  let root
  if (args.length === 2) {
    try { root = CID.parse(args[1]) } catch (e) { die(`bad root CID ${args[1]}: ${e.message}`) }
  } else {
    if (car.roots.length === 0) die(`${args[0]}: no root in the CAR header`)
    root = car.roots[0]
  }
  // bitWidth/bucketSize are read from the root block on load
  const map = await hmLoad(car, root, hashmapOptions(8, 3))
  const entries = []
  for await (const [key, value] of map.entriesRaw()) entries.push({ key, value })
  entries.sort((a, b) => compareBytes(a.key, b.key))
  const out = []
  for (let i = 0; i < entries.length; i++) {
    if (i > 0 && compareBytes(entries[i - 1].key, entries[i].key) === 0) {
      throw new Error(`duplicate key in the map: ${JSON.stringify(Buffer.from(entries[i].key).toString())}`)
    }
    const r = await render(entries[i].value, (cid) => car.get(cid))
    out.push(listingLine(entries[i].key, r, opts.contents))
  }
  process.stdout.write(out.length ? out.join('\n') + '\n' : '')
}

run(main)
