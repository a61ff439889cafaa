#!/usr/bin/env node
// For a JSON object file {key: value, ...} (like the spec fixture's
// hamt.json, whose values are inline), print the listing ref-dump.mjs would
// give for a map holding those entries inline; with --jsonl, print the
// entries as `hamt build --format jsonl` input instead.
//   node json-listing.mjs [--jsonl] FILE.json
import { readFile } from 'node:fs/promises'
import { render, listingLine, compareBytes, utf8, parseArgs, die, run } from './lib.mjs'

const USAGE = 'node json-listing.mjs [--jsonl] FILE.json'

async function main () {
  const { opts, args } = parseArgs(process.argv.slice(2), { jsonl: false }, USAGE)
  if (args.length !== 1) die(`usage: ${USAGE}`)
  const obj = JSON.parse(await readFile(args[0], 'utf8'))
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) die(`${args[0]}: not a JSON object`)
  const entries = Object.entries(obj).map(([k, v]) => ({ k, key: utf8(k), v }))
  entries.sort((a, b) => compareBytes(a.key, b.key))
  const out = []
  for (const e of entries) {
    if (opts.jsonl) out.push(JSON.stringify({ key: e.k, value: e.v }))
    else out.push(listingLine(e.key, await render(e.v, async () => undefined), false))
  }
  process.stdout.write(out.length ? out.join('\n') + '\n' : '')
}

run(main)
