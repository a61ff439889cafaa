#!/usr/bin/env node
// Our side's listing, in the format of `ref-dump.mjs --contents`: list the
// map with `hamt ls` (file names), turn every name back into its key, read
// every key with `hamt get`, and print {"key": ..., "text": "<contents>"}
// lines (or "base64" for contents that are not UTF-8) sorted by key bytes.
//
//   node our-dump.mjs --hamt PATH --store DIR [--keys REF.jsonl]
//                     [--mount DIR --sample N] ROOT
//
// With --mount (a hamtfs mount of ROOT), every key is read as its file
// through the mount, and `hamt get` is run for N keys spread over the
// listing (the first, the last, and evenly between) that must give the
// same bytes: one process per key is slow for 20,000 keys.
//
// Names: `%XX` (upper-case hex) escapes '/', '%', NUL and the leading '.' of
// the keys "." and ".."; the empty key is "%". Each name is checked to be
// the canonical name of the key it decodes to. A name whose escaped form
// would pass 255 bytes is shortened to `<prefix of the escaped name>%~<hex
// of the first 16 bytes of sha2-256(key)>`; those are resolved against the
// keys of a reference listing (--keys, lines with a "key" field): the key
// must have that hash and the name prefix. An unresolvable name is an error.
// Exit status 1 if any name or `hamt get` failed (the line then carries an
// "error" field instead of "text"/"base64").
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { availableParallelism } from 'node:os'
import { createHash } from 'node:crypto'
import { parseArgs, compareBytes, contentsField, die, run, utf8 } from './lib.mjs'

const USAGE = 'node our-dump.mjs --hamt PATH --store DIR [--keys REF.jsonl] [--mount DIR --sample N] ROOT'
const NAME_MAX = 255
const HASH_HEX = 32 // 16 bytes

function exec (file, args) {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, err, stdout, stderr })
    })
  })
}

/** The escaped (unshortened) name of a key, as a Buffer. */
function escapeKey (key) {
  if (key.length === 0) return Buffer.from('%')
  const dotty = (key.length === 1 && key[0] === 0x2e) || (key.length === 2 && key[0] === 0x2e && key[1] === 0x2e)
  const out = []
  for (let i = 0; i < key.length; i++) {
    const c = key[i]
    if (c === 0x2f || c === 0x25 || c === 0 || (i === 0 && dotty)) {
      out.push(0x25, ...Buffer.from(c.toString(16).toUpperCase().padStart(2, '0')))
    } else {
      out.push(c)
    }
  }
  return Buffer.from(out)
}

const HEX = /^[0-9A-F]{2}$/

/** Decode a name: { key } or { shortPrefix, hashHex } or { error }. */
function decodeName (name) {
  if (name.equals(Buffer.from('%'))) return { key: Buffer.alloc(0) }
  const m = name.lastIndexOf('%~')
  let body = name
  let hashHex = null
  if (m >= 0) {
    hashHex = name.subarray(m + 2).toString('latin1')
    body = name.subarray(0, m)
    if (!/^[0-9a-f]+$/.test(hashHex)) return { error: `bad shortened name ${JSON.stringify(name.toString())}` }
  }
  const out = []
  for (let i = 0; i < body.length; i++) {
    if (body[i] === 0x25) {
      const hx = body.subarray(i + 1, i + 3).toString('latin1')
      if (!HEX.test(hx)) return { error: `bad escape in name ${JSON.stringify(name.toString())}` }
      out.push(parseInt(hx, 16))
      i += 2
    } else {
      out.push(body[i])
    }
  }
  const key = Buffer.from(out)
  if (hashHex !== null) return { shortPrefix: body, hashHex }
  if (!escapeKey(key).equals(name)) return { error: `name ${JSON.stringify(name.toString())} is not the canonical name of its key` }
  if (name.length > NAME_MAX) return { error: `name over ${NAME_MAX} bytes: ${JSON.stringify(name.toString())}` }
  return { key }
}

const sha256hex = (b) => createHash('sha256').update(b).digest('hex')

async function main () {
  const { opts, args } = parseArgs(process.argv.slice(2), { hamt: '', store: '', keys: '', mount: '', sample: '200' }, USAGE)
  if (args.length !== 1 || !opts.hamt || !opts.store) die(`usage: ${USAGE}`)
  const root = args[0]

  // keys of the reference listing, by hash, for shortened names
  const byHash = new Map()
  if (opts.keys) {
    for (const line of (await readFile(opts.keys, 'utf8')).split('\n')) {
      if (!line) continue
      const k = Buffer.from(utf8(JSON.parse(line).key))
      byHash.set(sha256hex(k).slice(0, HASH_HEX), k)
    }
  }

  const ls = await exec(opts.hamt, ['ls', '--store', opts.store, root])
  if (ls.code !== 0) die(`hamt ls failed (exit ${ls.code}): ${ls.stderr.toString().trim()}`)
  const out = ls.stdout
  if (out.length && out[out.length - 1] !== 0x0a) die('hamt ls: output does not end with a newline')
  const entries = []
  let errors = 0
  for (let s = 0; s < out.length;) {
    const e = out.indexOf(0x0a, s)
    const name = out.subarray(s, e)
    s = e + 1
    const d = decodeName(name)
    if (d.shortPrefix) {
      const k = byHash.get(d.hashHex)
      const full = k && escapeKey(k)
      if (d.hashHex.length !== HASH_HEX) {
        d.error = `shortened name ${JSON.stringify(name.toString())}: hash is not ${HASH_HEX} hex digits`
      } else if (!k) {
        d.error = `shortened name ${JSON.stringify(name.toString())} matches no reference key`
      } else if (full.length <= NAME_MAX) {
        d.error = `key ${JSON.stringify(k.toString())} was shortened but its name fits in ${NAME_MAX} bytes`
      } else if (name.length > NAME_MAX || !full.subarray(0, d.shortPrefix.length).equals(d.shortPrefix)) {
        d.error = `shortened name ${JSON.stringify(name.toString())} is not a prefix of the name of ${JSON.stringify(k.toString())} within ${NAME_MAX} bytes`
      } else {
        d.key = k
      }
    }
    if (d.error) {
      errors++
      process.stderr.write(`our-dump: ${d.error}\n`)
      entries.push({ key: Buffer.from(name), error: d.error })
    } else {
      entries.push({ key: d.key, name: Buffer.from(name) })
    }
  }
  entries.sort((a, b) => compareBytes(a.key, b.key))
  for (let i = 1; i < entries.length; i++) {
    if (compareBytes(entries[i - 1].key, entries[i].key) === 0) {
      errors++
      entries[i].error = 'listed twice'
      process.stderr.write(`our-dump: key ${JSON.stringify(entries[i].key.toString())} listed twice\n`)
    }
  }

  // through the mount: every key's file (named as `hamt ls` names it)
  if (opts.mount) {
    for (const e of entries) {
      if (e.error) continue
      try {
        e.bytes = await readFile(Buffer.concat([Buffer.from(join(opts.mount, '/')), e.name]))
        e.contents = contentsField(e.bytes)
      } catch (err) {
        errors++
        e.error = `reading ${e.name.toString()} through the mount: ${err.message}`
        process.stderr.write(`our-dump: ${e.error}\n`)
      }
    }
  }
  // hamt get: for every key, or (with --mount) for a sample of them
  let todo = entries.filter((e) => !e.error)
  if (opts.mount) {
    const n = Math.min(todo.length, Number(opts.sample))
    const pick = new Set()
    for (let i = 0; i < n; i++) pick.add(n > 1 ? Math.round(i * (todo.length - 1) / (n - 1)) : 0)
    todo = [...pick].map((i) => todo[i])
  }
  let next = 0
  const worker = async () => {
    while (next < todo.length) {
      const e = todo[next++]
      if (e.key.includes(0)) { e.error = 'key holds NUL: cannot pass it to hamt get'; errors++; continue }
      const r = await exec(opts.hamt, ['get', '--store', opts.store, root, e.key.toString('utf8')])
      if (r.code !== 0) {
        errors++
        e.error = `hamt get exit ${r.code}: ${r.stderr.toString().trim()}`
        process.stderr.write(`our-dump: ${JSON.stringify(e.key.toString())}: ${e.error}\n`)
      } else if (e.bytes && !e.bytes.equals(r.stdout)) {
        errors++
        e.error = 'hamt get and the mount give different bytes'
        process.stderr.write(`our-dump: ${JSON.stringify(e.key.toString())}: ${e.error}\n`)
      } else {
        e.contents = contentsField(r.stdout)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, worker))

  const lines = entries.map((e) => JSON.stringify(e.error
    ? { key: e.key.toString('utf8'), error: e.error }
    : { key: e.key.toString('utf8'), ...e.contents }))
  process.stdout.write(lines.length ? lines.join('\n') + '\n' : '')
  if (errors) {
    process.stderr.write(`our-dump: ${errors} error(s)\n`)
    process.exitCode = 1
  }
}

run(main)
