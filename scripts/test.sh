#!/usr/bin/env bash
# Build and run the whole test suite (unit, tool and interop tests) with
# ctest. Usage: scripts/test.sh [BUILD_DIR [extra cmake args...]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
build=${1:-$here/build}
shift || true
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build" -j"$(nproc)"
cd "$build"
# a sanitizer build: LMDB's own leak (tests/lsan.supp) is not ours
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/tests/lsan.supp}
# CTEST_EXCLUDE: a regex of tests to leave out (CI's sanitizer pass)
ctest --output-on-failure -j2 ${CTEST_EXCLUDE:+-E "$CTEST_EXCLUDE"}
