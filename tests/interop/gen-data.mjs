#!/usr/bin/env node
// Deterministic random dataset for the interop tests (same seed -> same
// bytes, on any machine):
//   node gen-data.mjs --seed S --count N --format tsv|jsonl > FILE
// N lines of `key<TAB>value` (tsv) or {"key": ..., "value": ...} (jsonl),
// plus a few empty lines (which readers skip). About 3% of the lines repeat
// an earlier key with a new value (the last one wins).
// Keys: words with spaces, '/', '%' (also literal "%2F", "%~" sequences),
// ".", "..", leading dots, a leading '-', multibyte UTF-8 (é, 日本, emoji,
// combining marks), 200-byte keys, and keys whose escaped file name passes
// 255 bytes (shown shortened by hamtfs). jsonl keys may also hold a tab or a
// control character. No key holds a newline or NUL (they could not be listed
// by `hamt ls` lines or passed to `hamt get` as an argument).
// Values: tsv - text without tab/newline (sometimes empty, sometimes long);
// jsonl - ints (negative, CBOR size boundaries, > 2^32 up to 2^53-1),
// non-integral floats, strings, booleans, null, nested arrays/objects.
import { parseArgs, intOpt, enumOpt, die, prng } from './lib.mjs'

const USAGE = 'node gen-data.mjs --seed S --count N --format tsv|jsonl > FILE'

const { opts, args } = parseArgs(process.argv.slice(2), { seed: '1', count: '1000', format: 'tsv' }, USAGE)
if (args.length) die(`usage: ${USAGE}`)
const seed = intOpt(opts, 'seed', 0, 2 ** 32 - 1)
const count = intOpt(opts, 'count', 0, 1e8)
const format = enumOpt(opts, 'format', ['tsv', 'jsonl'])
const R = prng(seed)

const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'works', 'authors', 'OL', 'record', 'café', 'naïve',
  '日本', '日本語', 'Ωmega', 'über', 'smörgåsbord', '🎉', '🦀', 'e\u0301', 'x', 'key', 'value', 'Zz']
const FIXED = ['.', '..', '...', '%', '/', '//', '%2E', '%2E.', '%25', '%2F', '%~', '%~00', '-', '--',
  '--help', ' ', '~', '. ', '.. ', '.%', 'a.b', 'nul%00', 'A', 'a', 'aa', 'B']
const bytesOf = (s) => Buffer.byteLength(s, 'utf8')

function words (n) {
  const w = []
  for (let i = 0; i < n; i++) w.push(R.pick(WORDS))
  return w.join(' ')
}

/** Pad `s` with ASCII filler (from `fill`) to exactly `len` UTF-8 bytes. */
function padTo (s, len, fill) {
  while (bytesOf(s) < len) s += fill[R.int(fill.length)]
  return s
}

function makeKey (i) {
  const u = i.toString(36)
  switch (R.int(14)) {
    case 0: return `${words(1 + R.int(4))} ${u}`
    case 1: return `/works/OL${i}W`
    case 2: return `${R.pick(['a/b', '/', '', 'x/y/z'])}/${u}/${R.pick(['', '/', 'end'])}`
    case 3: return R.pick([`100% ${u}`, `%2F${u}`, `a%2Eb${u}`, `%~${u}`, `%${u}%`, `%%${u}`])
    case 4: return R.pick([`.${u}`, `..${u}`, `...${u}`, `.hidden ${u}`, `. ${u}`, `./${u}`, `../${u}`])
    case 5: return R.pick([`café ${u}`, `日本 ${u}`, `emoji 🎉${u}`, `${u}🦀`, `e\u0301${u}`, `Ωmega${u}`, `日本語/${u}`])
    case 6: { // exactly 200 bytes, a few escapes: the name stays under 255 bytes
      const head = `long ${u} ${R.pick(['', '/', '%', '日本', 'é'])} `
      return padTo(head, 200, 'abcdefghijklmnopqrstuvwxyz0123456789 .-_')
    }
    case 7: // escaped name over 255 bytes: shortened by hamtfs
      return R.pick([
        () => `${u}` + '/'.repeat(90 + R.int(60)),
        () => padTo(`verylong ${u} `, 256 + R.int(300), 'abcdefghij'),
        () => padTo(`日本 ${u} `, 250 + R.int(20), '日本語') + 'tail'
      ])()
    case 8: return R.pick([`-${u}`, `--${u}`, `-x ${u}`])
    case 9: return R.pick([` lead ${u}`, `trail ${u} `, `two  spaces ${u}`])
    case 10: return R.pick([`back\\slash ${u}`, `"quoted" ${u}`, `it's ${u}`, `{"json":${i}}`, `<${u}>`])
    case 11:
      if (format === 'jsonl') return R.pick([`tab\there ${u}`, `ctl\u0001${u}`, `del\u007f${u}`, `\u2028ls ${u}`])
      return `plain ${u}`
    default: return `rec/${i}`
  }
}

const TEXT = 'abcdefghijklmnopqrstuvwxyz ABCXYZ 0123456789 .,;:!?\'"\\/{}[]()%&*+-=_~<>|@#$^`'
const UNI = ['é', 'ü', 'ß', 'Ω', '日', '本', '語', '🎉', '🦀', '\u0301', '\u00a0', '€']

function text (maxLen, allowCtl) {
  const n = R.int(maxLen + 1)
  let s = ''
  for (let i = 0; i < n; i++) {
    const r = R.next()
    if (r < 0.85) s += TEXT[R.int(TEXT.length)]
    else if (r < 0.97 || !allowCtl) s += R.pick(UNI)
    else s += R.pick(['\n', '\t', '\r', '\u0001', '\u001f', '\u007f', '\u2028'])
  }
  return s
}

function tsvValue () {
  const r = R.next()
  if (r < 0.01) return ''
  if (r < 0.03) return text(5000, false)
  if (r < 0.1) return `{"id":${R.int(1e6)},"title":${JSON.stringify(text(20, false))}}`
  return text(300, false)
}

const BOUNDARY_INTS = [0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, 65535, 65536, -65536, -65537,
  2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]
const SPECIAL_FLOATS = [0.1, -0.5, 0.3333333333333333, 3.14159, 2.5, -1234.5678, 1e-7, 1.5e-10,
  123456789.125, 1.7976931348623157e308, 5e-324, 1.2345e21, -9.87e-5]

function float () {
  if (R.chance(0.15)) return R.pick(SPECIAL_FLOATS)
  const digits = 1 + R.int(6)
  let f = Number(((R.next() * 2 - 1) * 10 ** R.int(7)).toFixed(digits))
  if (Number.isInteger(f)) f += 0.5 // JSON cannot tell 2.0 from 2: keep floats non-integral
  return f
}

const OBJ_KEYS = ['a', 'b', 'aa', 'B', 'Z', 'id', 'name', 'title', 'é', '日本', 'aaa', 'ab', 'ba', '', 'k-1', 'long key name']

function jsonValue (depth) {
  const r = R.int(depth > 2 ? 7 : 10)
  switch (r) {
    case 0: return R.int(2001) - 1000
    case 1: return R.chance(0.5) ? R.pick(BOUNDARY_INTS) : (R.chance(0.5) ? 1 : -1) * (2 ** 32 + R.int(2 ** 21) * 2 ** 31 + R.int(2 ** 31))
    case 2: return float()
    case 3: return text(60, true)
    case 4: return R.chance(0.5)
    case 5: return null
    case 6: return R.pick(['', 'x', 'null', '{"/":"not a link"}', '123'])
    case 7: case 8: {
      const a = []
      for (let i = R.int(5); i > 0; i--) a.push(jsonValue(depth + 1))
      return a
    }
    default: {
      const o = {}
      for (let i = R.int(6); i > 0; i--) o[R.pick(OBJ_KEYS)] = jsonValue(depth + 1)
      return o
    }
  }
}

const keys = []
const fixedAt = new Map()
for (const k of FIXED) fixedAt.set(R.int(Math.max(count, 1)), k)
const out = []
let pending = []
for (let i = 0; i < count; i++) {
  let key
  if (fixedAt.has(i)) key = fixedAt.get(i)
  else if (keys.length && R.chance(0.03)) key = R.pick(keys) // a duplicate: last one wins
  else key = makeKey(i)
  keys.push(key)
  if (format === 'tsv') pending.push(`${key}\t${tsvValue()}`)
  else pending.push(JSON.stringify({ key, value: jsonValue(0) }))
  if (R.chance(0.002)) pending.push('') // an empty line, skipped by readers
  if (pending.length >= 4096) { out.push(pending.join('\n')); pending = [] }
}
if (pending.length) out.push(pending.join('\n'))
process.stdout.write(out.length ? out.join('\n') + '\n' : '')
