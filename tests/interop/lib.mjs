// Shared helpers of the interop harness (hamtfs vs the JavaScript reference,
// ipld-hashmap 3.0.4). Every module the harness needs is imported here, so
// scripts outside tests/interop (bench/js/) can import this file by path and
// still resolve tests/interop/node_modules.
import { readFile } from 'node:fs/promises'
import { create as hmCreate, load as hmLoad } from 'ipld-hashmap'
import { CarReader, CarWriter } from '@ipld/car'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import * as raw from 'multiformats/codecs/raw'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

export { hmCreate, hmLoad, CarReader, CarWriter, dagCbor, dagJson, raw, CID, sha256 }

export const RAW = 0x55
export const DAG_CBOR = 0x71
export const DAG_JSON = 0x0129

const te = new TextEncoder()
const td = new TextDecoder()
export const utf8 = (s) => te.encode(s)
export const fromUtf8 = (b) => td.decode(b)

/** Print to stderr, set a failing exit code and exit. */
export function die (msg) {
  process.stderr.write(`${process.argv[1].split('/').pop()}: ${msg}\n`)
  process.exit(1)
}

/** Run an async main; any exception -> message on stderr and exit 1. */
export function run (main) {
  main().catch((e) => {
    process.stderr.write(`${process.argv[1].split('/').pop()}: ${e && e.stack ? e.stack : e}\n`)
    process.exitCode = 1
  })
}

/**
 * Tiny option parser: spec maps option name -> default (string) or
 * `false` for a boolean flag. Returns { opts, args }.
 */
export function parseArgs (argv, spec, usage) {
  const opts = {}
  for (const [k, v] of Object.entries(spec)) opts[k] = v
  const args = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') { process.stdout.write(usage + '\n'); process.exit(0) }
    if (a === '--') { args.push(...argv.slice(i + 1)); break }
    if (a.startsWith('--') && a.length > 2) {
      let name = a.slice(2)
      let val
      const eq = name.indexOf('=')
      if (eq >= 0) { val = name.slice(eq + 1); name = name.slice(0, eq) }
      if (!(name in spec)) die(`unknown option --${name}\nusage: ${usage}`)
      if (spec[name] === false) {
        if (val !== undefined) die(`--${name} takes no value`)
        opts[name] = true
      } else {
        if (val === undefined) {
          if (i + 1 >= argv.length) die(`--${name} needs a value\nusage: ${usage}`)
          val = argv[++i]
        }
        opts[name] = val
      }
    } else {
      args.push(a)
    }
  }
  return { opts, args }
}

export function intOpt (opts, name, lo, hi) {
  const s = String(opts[name])
  if (!/^[0-9]+$/.test(s)) die(`--${name}: not a number: ${s}`)
  const n = Number(s)
  if (n < lo || n > hi) die(`--${name} must be in ${lo}..${hi} (got ${n})`)
  return n
}

export function enumOpt (opts, name, values) {
  if (!values.includes(opts[name])) die(`--${name} must be one of ${values.join('|')} (got ${opts[name]})`)
  return opts[name]
}

/** Byte-wise comparison of two Uint8Arrays (the order of key bytes). */
export function compareBytes (a, b) {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}

export const b64 = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/** Hash check of a block against its CID (sha2-256 only). */
export async function checkBlock (cid, bytes) {
  if (cid.multihash.code !== sha256.code) throw new Error(`${cid}: unsupported multihash 0x${cid.multihash.code.toString(16)}`)
  const mh = await sha256.digest(bytes)
  if (compareBytes(mh.bytes, cid.multihash.bytes) !== 0) throw new Error(`${cid}: block bytes do not match the CID`)
}

/**
 * Render a HAMT value by the hamtfs "file contents" rules, with the kind:
 *   link to raw      -> { raw: base64(block) }
 *   link to dag-cbor -> { dagjson: dag-json text of the decoded block }
 *   link to dag-json -> { dagjson: dag-json text of the decoded block }
 *   inline bytes     -> { bytes: base64 }
 *   inline string    -> { string }
 *   anything else    -> { dagjson: dag-json text of the value }
 * getBlock(cid) -> Promise<Uint8Array|undefined>.
 */
export async function render (value, getBlock) {
  const cid = CID.asCID(value)
  if (cid) {
    if (cid.code === RAW || cid.code === DAG_CBOR || cid.code === DAG_JSON) {
      const bytes = await getBlock(cid)
      if (!bytes) throw new Error(`value block ${cid} is missing`)
      await checkBlock(cid, bytes)
      if (cid.code === RAW) return { raw: b64(bytes) }
      const decoded = cid.code === DAG_CBOR ? dagCbor.decode(bytes) : dagJson.decode(bytes)
      return { dagjson: fromUtf8(dagJson.encode(decoded)) }
    }
    return { dagjson: fromUtf8(dagJson.encode(cid)) }
  }
  if (value instanceof Uint8Array) return { bytes: b64(value) }
  if (typeof value === 'string') return { string: value }
  return { dagjson: fromUtf8(dagJson.encode(value)) }
}

/** The file contents (bytes) a rendering stands for. */
export function renderedContents (r) {
  if ('raw' in r) return Buffer.from(r.raw, 'base64')
  if ('bytes' in r) return Buffer.from(r.bytes, 'base64')
  if ('string' in r) return Buffer.from(r.string, 'utf8')
  if ('dagjson' in r) return Buffer.from(r.dagjson, 'utf8')
  throw new Error(`bad rendering ${JSON.stringify(r)}`)
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * File contents as a listing field: {"text": "..."} when they are valid
 * UTF-8 (readable diffs), else {"base64": "..."}.
 */
export function contentsField (bytes) {
  try {
    return { text: fatalUtf8.decode(bytes) }
  } catch {
    return { base64: b64(bytes) }
  }
}

/** One listing line: {"key", "value": rendering} or {"key", "text"|"base64"}. */
export function listingLine (keyBytes, rendered, contentsMode) {
  const key = fromUtf8(keyBytes)
  if (contentsMode) return JSON.stringify({ key, ...contentsField(renderedContents(rendered)) })
  return JSON.stringify({ key, value: rendered })
}

/** A block loader over an in-memory Map (cid string -> bytes). */
export function memStore () {
  const blocks = new Map()
  return {
    blocks,
    async get (cid) { return blocks.get(cid.toString()) },
    async put (cid, bytes) { blocks.set(cid.toString(), bytes) }
  }
}

/** Open a CAR file: { reader, roots, get(cid) }. */
export async function openCar (path) {
  const bytes = await readFile(path)
  const reader = await CarReader.fromBytes(bytes)
  const roots = await reader.getRoots()
  return {
    reader,
    roots,
    async get (cid) {
      const b = await reader.get(cid)
      return b ? b.bytes : undefined
    },
    async put () { throw new Error('read-only CAR store') }
  }
}

export const hashmapOptions = (bitWidth, bucketSize) => ({
  bitWidth, bucketSize, blockCodec: dagCbor, blockHasher: sha256
})

/** Deterministic PRNG (mulberry32) from a 32-bit seed. */
export function prng (seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n) => Math.floor(next() * n), // 0 .. n-1
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p
  }
}
