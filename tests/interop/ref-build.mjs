#!/usr/bin/env node
// Build an IPLD HashMap with the JavaScript reference (ipld-hashmap 3.0.4)
// from the same input, with the same semantics, as `hamt build`, write all
// its reachable blocks (and the linked value blocks) to a CARv1 file whose
// single root is the map root, and print the root CID on stdout.
//
//   node ref-build.mjs [--bit-width N] [--bucket-size N] [--format tsv|jsonl]
//                      [--values link|inline] INPUT|- OUT.car
//
// tsv:   one `key<TAB>value` per line, split on the first tab, both UTF-8.
// jsonl: one {"key": "<string>", "value": <any JSON>} per line.
// link:  tsv value bytes -> raw block (0x55); jsonl value -> DAG-CBOR block
//        (0x71); the HAMT value is the CID (v1, sha2-256).
// inline: tsv value -> Bytes; jsonl value -> the JSON value itself.
// Empty lines are skipped; duplicate keys: the last one wins.
import { readFile, writeFile } from 'node:fs/promises'
import {
  hmCreate, CarWriter, CID, sha256, dagCbor, RAW, DAG_CBOR,
  memStore, hashmapOptions, parseArgs, intOpt, enumOpt, die, run, utf8
} from './lib.mjs'

const USAGE = 'node ref-build.mjs [--bit-width 3..16] [--bucket-size N>=2] [--format tsv|jsonl] [--values link|inline] INPUT|- OUT.car'

async function readInput (path) {
  if (path !== '-') return readFile(path)
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return Buffer.concat(chunks)
}

/** Split into lines (on \n), skipping empty ones: [{ line: number, bytes }]. */
function lines (buf) {
  const out = []
  let start = 0
  let no = 0
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start)
    if (end < 0) end = buf.length
    no++
    if (end > start) out.push({ no, bytes: buf.subarray(start, end) })
    start = end + 1
  }
  return out
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

async function main () {
  const { opts, args } = parseArgs(process.argv.slice(2), {
    'bit-width': '8', 'bucket-size': '3', format: 'tsv', values: 'link'
  }, USAGE)
  if (args.length !== 2) die(`usage: ${USAGE}`)
  const bitWidth = intOpt(opts, 'bit-width', 3, 16) // iamap's limits
  const bucketSize = intOpt(opts, 'bucket-size', 2, 1 << 20) // iamap: >= 2
  const format = enumOpt(opts, 'format', ['tsv', 'jsonl'])
  const values = enumOpt(opts, 'values', ['link', 'inline'])
  const [input, outPath] = args

  const store = memStore()
  const valueBlocks = new Map() // cid string -> bytes
  const map = await hmCreate(store, hashmapOptions(bitWidth, bucketSize))
  const data = await readInput(input)
  let n = 0
  for (const { no, bytes } of lines(data)) {
    const where = `${input}:${no}`
    let key, value
    if (format === 'tsv') {
      const tab = bytes.indexOf(0x09)
      if (tab < 0) die(`${where}: no tab between key and value`)
      key = Uint8Array.from(bytes.subarray(0, tab))
      const v = Uint8Array.from(bytes.subarray(tab + 1))
      try { strictUtf8.decode(key); strictUtf8.decode(v) } catch { die(`${where}: not valid UTF-8`) }
      if (values === 'link') {
        const cid = CID.create(1, RAW, await sha256.digest(v))
        valueBlocks.set(cid.toString(), v)
        value = cid
      } else {
        value = v
      }
    } else {
      let obj
      try { obj = JSON.parse(strictUtf8.decode(bytes)) } catch (e) { die(`${where}: bad JSON: ${e.message}`) }
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj) ||
          typeof obj.key !== 'string' || !('value' in obj)) {
        die(`${where}: expected {"key": "<string>", "value": <any>}`)
      }
      key = utf8(obj.key)
      if (values === 'link') {
        const enc = dagCbor.encode(obj.value)
        const cid = CID.create(1, DAG_CBOR, await sha256.digest(enc))
        valueBlocks.set(cid.toString(), enc)
        value = cid
      } else {
        value = obj.value
      }
    }
    await map.set(key, value)
    n++
  }

  // Collect the reachable blocks: the HAMT nodes, then the linked values.
  const root = CID.decode(map.cid.bytes)
  const blocks = []
  const seen = new Set()
  const add = async (cid, bytes) => {
    const s = cid.toString()
    if (seen.has(s)) return
    seen.add(s)
    if (!bytes) bytes = (await store.get(cid)) || valueBlocks.get(s)
    if (!bytes) throw new Error(`block ${s} missing`)
    blocks.push({ cid: CID.decode(cid.bytes), bytes })
  }
  for await (const cid of map.cids()) await add(cid)
  if (values === 'link') {
    for await (const [, v] of map.entriesRaw()) {
      const cid = CID.asCID(v)
      if (!cid) throw new Error('a link value is not a CID')
      await add(cid)
    }
  }
  if (blocks.length === 0 || !blocks[0].cid.equals(root)) throw new Error('first block is not the root')

  const { writer, out } = CarWriter.create([root])
  const chunks = []
  const collect = (async () => { for await (const c of out) chunks.push(c) })()
  for (const b of blocks) await writer.put(b)
  await writer.close()
  await collect
  await writeFile(outPath, Buffer.concat(chunks))
  process.stderr.write(`ref-build: ${n} records, ${blocks.length} blocks, root ${root}\n`)
  process.stdout.write(`${root}\n`)
}

run(main)
