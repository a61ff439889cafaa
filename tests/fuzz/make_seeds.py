#!/usr/bin/env python3
"""Regenerate the hand-made seed files of tests/fuzz/corpus/ (not run by
the tests; the corpora are committed). Usage:

    tests/fuzz/make_seeds.py FIXTURES_DIR SMALL_CAR [TREE_CAR...]

FIXTURES_DIR is ../shared/fixtures; SMALL_CAR a CAR exported from a small
map with linked values (`hamt build` + `hamt export`), so the seeds hold a
bitWidth-8 root, raw value blocks and links of every kind. Each TREE_CAR
(and the spec fixture) becomes a seed of fuzz_tree: its blocks in CAR
order (parents first, as `hamt export` writes them), each framed by a
2-byte little-endian length.
Files are named seed-*; regression inputs found by fuzzing are named
crash-<what> and are never overwritten by this script.
"""
import gzip
import hashlib
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return v, i


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cb(x):
    """Canonical DAG-CBOR of a Python value (bytes, str, int, list, dict,
    None/bool, float, Link)."""
    if isinstance(x, Link):
        return head(6, 42) + cb(b"\x00" + x.raw)
    if x is None:
        return b"\xf6"
    if x is True:
        return b"\xf5"
    if x is False:
        return b"\xf4"
    if isinstance(x, int):
        return head(0, x) if x >= 0 else head(1, -1 - x)
    if isinstance(x, float):
        return b"\xfb" + struct.pack(">d", x)
    if isinstance(x, bytes):
        return head(2, len(x)) + x
    if isinstance(x, str):
        e = x.encode()
        return head(3, len(e)) + e
    if isinstance(x, list):
        return head(4, len(x)) + b"".join(cb(i) for i in x)
    if isinstance(x, dict):
        items = sorted(x.items(), key=lambda kv: (len(kv[0].encode()), kv[0].encode()))
        return head(5, len(x)) + b"".join(cb(k) + cb(v) for k, v in items)
    raise TypeError(x)


class Link:
    def __init__(self, raw):
        self.raw = raw


def cid(codec, data):
    return b"\x01" + varint(codec) + b"\x12\x20" + hashlib.sha256(data).digest()


def car_blocks(path):
    b = open(path, "rb").read()
    if b[:11] == bytes.fromhex("0aa16776657273696f6e02"):
        off = int.from_bytes(b[11 + 16:11 + 24], "little")
        size = int.from_bytes(b[11 + 24:11 + 32], "little")
        b = b[off:off + size]
    hl, i = read_varint(b, 0)
    i += hl
    out = []
    while i < len(b):
        sl, j = read_varint(b, i)
        sec = b[j:j + sl]
        # CIDv1: version, codec, mh code, digest length
        _, k = read_varint(sec, 0)
        _, k = read_varint(sec, k)
        _, k = read_varint(sec, k)
        dl, k = read_varint(sec, k)
        out.append((sec[:k + dl], sec[k + dl:]))
        i = j + sl
    return out


def car(roots, blocks, v2=False):
    hdr = cb({"roots": [Link(r) for r in roots], "version": 1})
    body = varint(len(hdr)) + hdr
    for c, d in blocks:
        body += varint(len(c) + len(d)) + c + d
    if not v2:
        return body
    pragma = bytes.fromhex("0aa16776657273696f6e02")
    off = 11 + 40
    h = bytes(16) + off.to_bytes(8, "little") + len(body).to_bytes(8, "little") + bytes(8)
    return pragma + h + body


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def node(bitmap, data):
    return [bitmap, data]


def root(bitmap, data, alg=0x12, bucket=3):
    return {"hamt": [bitmap, data], "hashAlg": alg, "bucketSize": bucket}


def main():
    fixtures, small = sys.argv[1], sys.argv[2]
    alice = car_blocks(os.path.join(fixtures, "hamt-alice-words/hamt.car"))
    smallb = car_blocks(small)

    # --- node: real blocks, then hand-made shapes -------------------------
    for i, (c, d) in enumerate(alice[:6]):
        put("node", "alice-%d" % i, d)
    for i, (c, d) in enumerate(smallb):
        if c[1] == 0x71:
            put("node", "small-%d" % i, d)
    raw = cid(0x55, b"value")
    bm1 = bytes([0b00000101])
    put("node", "bw3-root", cb(root(bm1, [[[b"a", 1], [b"b", Link(raw)]], Link(cid(0x71, b"x"))])))
    put("node", "bw3-node", cb(node(bm1, [[[b"k", "text"]], [[b"k2", {"a": [1.5, None, True]}]]])))
    put("node", "bw4-empty", cb(node(bytes(2), [])))
    put("node", "bw8-root-murmur", cb(root(bytes(31) + b"\x80", [[[b"z", b"bytes"]]], alg=0x22, bucket=1)))
    put("node", "unsorted", cb(node(bm1, [[[b"b", 1], [b"a", 2]], [[b"c", 3]]])))
    put("node", "popcount", cb(node(bytes([0xff]), [[[b"a", 1]]])))
    put("node", "maplen3", cb(node(bytes(3), [])))
    put("node", "hashalg-13", cb(root(bm1, [[[b"a", 1]], [[b"b", 2]]], alg=0x13)))
    put("node", "not-hamt", cb({"hello": "world"}))
    put("node", "noncanon-int", bytes.fromhex("82") + bytes.fromhex("4101") + bytes.fromhex("9800"))
    put("node", "deep", b"\x81" * 300 + b"\x00")
    put("node", "values", cb([-1, -(2**63), 2**64 - 1, 1e300, -0.0, "é", {"": b""}]))

    # --- car --------------------------------------------------------------
    put("car", "small-v1", open(small, "rb").read())
    rr = smallb[0][0]
    put("car", "small-v2", car([rr], smallb, v2=True))
    put("car", "empty-body", car([rr], []))
    put("car", "truncated", open(small, "rb").read()[:200])
    bad = bytearray(car([rr], smallb[:2]))
    bad[-1] ^= 1
    put("car", "hash-mismatch", bytes(bad))
    ident = b"\x01\x55\x00\x05hello"
    put("car", "identity", car([rr], [(ident, b"hello")]))
    put("car", "v3", varint(len(cb({"version": 3}))) + cb({"version": 3}))
    for f in ("carv1-basic.car", "carv2-basic.car"):
        put("car", f[:-4], open(os.path.join(fixtures, "car", f), "rb").read())

    # --- cid --------------------------------------------------------------
    put("cid", "v1-text", b"bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflova")
    put("cid", "v1-upper", b"BAFYREIC672JZ6HUUR4C2YEKD3UYCSWE2XFQHJLMTMM5DORB6YOYTGFLOVA")
    put("cid", "v0-text", b"QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n")
    put("cid", "v1-base58", b"zdj7WWeQ43G6JJvLWQWZpyHuAMq6uYWRjkBXFad11vE2LHhQ7")
    put("cid", "v1-bin", rr)
    put("cid", "v0-bin", b"\x12\x20" + hashlib.sha256(b"x").digest())
    put("cid", "identity-bin", ident)
    put("cid", "raw-bin", cid(0x55, b"value"))
    put("cid", "bad-version", b"\x02\x71\x12\x20" + bytes(32))
    put("cid", "base64", b"aGVsbG8gd29ybGQ=")
    put("cid", "trailing", b"bafyreic672jz6huur4c2yekd3uycswe2xfqhjlmtmm5dorb6yoytgflovaa")

    # --- tree -------------------------------------------------------------
    def frame(blocks):
        return b"".join(len(d).to_bytes(2, "little") + d for _, d in blocks)

    # (not the 36-block spec fixture: at 43 KB it slows the fuzzer ten times)
    put("tree", "small", frame(smallb))
    for path in sys.argv[3:]:
        put("tree", os.path.basename(path)[:-4], frame(car_blocks(path)))
    put("tree", "root-only", frame(alice[:1]))

    # --- names ------------------------------------------------------------
    for i, n in enumerate([b"alpha", b"%2Fworks%2FOL1W", b"%", b"%2E", b"%2E.", b"...",
                           b"100%25", b"%00x", "café 日本".encode(), b"%41", b"%2f",
                           b"L" * 255, b"L" * 256, b"%~", b"%25%7E",
                           b"L" * 219 + b"%~" + b"0123456789abcdef" * 2,
                           b"ab%2Fab%2F" * 20 + b"%~" + b"deadbeef" * 4,
                           "é".encode() * 100 + b"\xc3"]):
        put("names", "%02d" % i, n)

    # --- gzip: the first byte picks the read size, the rest is the input --
    lines = b"".join(b"/type/author\t/authors/OL%dA\t1\t2023-01-19T18:25:03\t"
                     b"{\"key\":\"/authors/OL%dA\",\"name\":\"Leo %d\"}\n" % (i, i, i)
                     for i in range(40))
    one = gzip.compress(lines[:2000], mtime=0)
    two = one + gzip.compress(lines[2000:], mtime=0)
    # a member with every optional header field (FEXTRA, FNAME, FCOMMENT,
    # FHCRC: RFC 1952 2.3.1), as few writers make them
    hdr = (b"\x1f\x8b\x08\x1e\0\0\0\0\0\x03" + struct.pack("<H", 6) +
           b"ab\x02\0xy" + b"dump.txt\0" + b"a comment\0")
    hdr += struct.pack("<H", zlib.crc32(hdr) & 0xFFFF)
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    fields = (hdr + co.compress(lines[:500]) + co.flush() +
              struct.pack("<II", zlib.crc32(lines[:500]), 500))
    for i, (name, d) in enumerate([("two-members", two), ("one", one),
                                   ("empty", gzip.compress(b"", mtime=0)),
                                   ("truncated", two[:len(two) // 2]),
                                   ("trailing", one + b"garbage\n"),
                                   ("text", lines[:300]),
                                   ("stored", gzip.compress(lines, compresslevel=0, mtime=0))]):
        put("gzip", name, bytes([(i * 37) & 0xFF]) + d)
    # first byte 84: the compressed bytes arrive 5 at a time (fuzz_gzip.c),
    # so the header is split across reads
    put("gzip", "header-fields", bytes([84]) + fields + one)


if __name__ == "__main__":
    main()
