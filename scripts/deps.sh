#!/usr/bin/env bash
# Install what building, testing and the demo need on Debian 12 (as root).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
	echo "scripts/deps.sh: run as root (it uses apt-get)" >&2
	exit 1
fi
pkgs=(build-essential cmake pkg-config libcbor-dev libssl-dev liblmdb-dev
	lmdb-utils libjansson-dev zlib1g-dev libisal-dev libfuse3-dev fuse3 attr rsync jq pigz
	procps python3 valgrind cppcheck clang-format # procps: pgrep in tests/fs/lib.sh; python3: the tests
	clang libclang-rt-14-dev) # libFuzzer: tests/fuzz/run.sh
missing=()
# Node.js for the interop tests: Debian's, unless the machine has its own
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y "${missing[@]}"
fi
# the JavaScript reference (ipld-hashmap, @ipld/car) for the interop tests,
# exactly as pinned in tests/interop/package-lock.json
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/interop/package-lock.json" ] && [ ! -d "$here/tests/interop/node_modules" ]; then
	(cd "$here/tests/interop" && npm ci --no-audit --no-fund)
fi
