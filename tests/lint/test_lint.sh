#!/usr/bin/env bash
# Lint: every C source and header is clang-formatted (.clang-format at the
# root) and cppcheck finds nothing (warning, performance, portability).
set -uo pipefail
: "${SRC:?}"
cd "$SRC" || exit 1
fail=0
for tool in clang-format cppcheck; do
	command -v "$tool" >/dev/null || { echo "test_lint: $tool is not installed (scripts/deps.sh installs it)" >&2; exit 1; }
done
mapfile -t files < <(find hamt store fs tools tests bench -name node_modules -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort)
echo "${#files[@]} C files"
if ! clang-format --dry-run -Werror "${files[@]}"; then
	echo "test_lint: not clang-formatted (run: clang-format -i FILE)" >&2
	fail=1
fi
if ! cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	--std=c11 -I . --inline-suppr -j2 hamt store fs tools tests bench; then
	echo "test_lint: cppcheck found the defects above" >&2
	fail=1
fi
[ "$fail" = 0 ] && echo "clang-format: clean; cppcheck: clean"
exit "$fail"
