#!/usr/bin/env bash
# Checks that a kvmm binary carries the distribution hardening the top-level
# CMakeLists.txt asks for: a position-independent executable (ELF type DYN),
# full RELRO (a GNU_RELRO segment and BIND_NOW), stack canaries
# (__stack_chk_fail) and fortified libc calls (some __*_chk symbol).
# Prints one line per missing property and exits 1 if there is any.
# Usage: check_hardening.sh PATH_TO_KVMM
set -euo pipefail
binary=${1:?usage: check_hardening.sh PATH_TO_KVMM}
if ! command -v readelf >/dev/null; then
    echo "readelf not found: install binutils"
    exit 1
fi

failures=0
fail() {
    echo "$binary: $1"
    failures=$((failures + 1))
}

readelf -h "$binary" | grep -Eq 'Type:[[:space:]]+DYN' ||
    fail "not a position-independent executable (readelf -h: Type is not DYN)"
readelf -l "$binary" | grep -q 'GNU_RELRO' ||
    fail "no GNU_RELRO segment (link with -Wl,-z,relro)"
readelf -d "$binary" | grep -Eq 'BIND_NOW|FLAGS.*[[:space:]]NOW' ||
    fail "no BIND_NOW (link with -Wl,-z,now for full RELRO)"
symbols=$(readelf --dyn-syms --wide "$binary")
grep -q '__stack_chk_fail' <<<"$symbols" ||
    fail "no __stack_chk_fail: not built with -fstack-protector-strong"
grep -Eq '__[a-z_0-9]+_chk(@|[[:space:]]|$)' <<<"$(grep -v '__stack_chk_fail' <<<"$symbols")" ||
    fail "no fortified __*_chk call: not built with -D_FORTIFY_SOURCE and optimisation"

if ((failures > 0)); then exit 1; fi
echo "$binary: PIE, full RELRO, stack protector and fortified calls present"
