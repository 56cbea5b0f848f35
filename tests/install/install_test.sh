#!/usr/bin/env bash
# `cmake --install` into a temporary prefix gives a kvmm that works like a
# Debian tool: its files where Debian puts them, a man page that renders
# without warnings, a bash completion that completes, and guests found
# without KVMM_GUEST_DIR.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: install_test.sh BUILD_DIR}
prefix=$(mktemp -d /tmp/kvmm-install-XXXXXX)
trap 'rm -rf -- "$prefix"' EXIT
failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

cmake --install "$build" --prefix "$prefix" >/dev/null

for file in bin/kvmm lib/kvmm/kvmm-http.so lib/kvmm/guest/bench_exits.bin lib/kvmm/guest/sched_bench.bin \
    share/man/man1/kvmm.1 share/bash-completion/completions/kvmm; do
    [[ -f $prefix/$file ]] || fail "$file is not installed"
done
[[ -x $prefix/bin/kvmm ]] || fail "bin/kvmm is not executable"

help=$("$prefix/bin/kvmm" --help) || fail "kvmm --help exits $?"
[[ $help == *"Usage:"* ]] || fail "kvmm --help prints no usage"

# The man page: groff with every warning on, and man(1) itself.
man_page=$prefix/share/man/man1/kvmm.1
if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -wall -z "$man_page" 2>&1) || fail "groff failed: $warnings"
    [[ -z $warnings ]] || fail "groff warns about kvmm.1: $warnings"
else
    fail "groff is missing: apt-get install groff-base (tools/lib/common.sh lists it)"
fi
if command -v man >/dev/null; then
    rendered=$(MANWIDTH=80 man --warnings -l "$man_page" 2>"$prefix/man.err") || fail "man -l failed"
    [[ ! -s $prefix/man.err ]] || fail "man -l warns: $(cat "$prefix/man.err")"
    [[ $rendered == *"--disk"* ]] || fail "man -l shows no --disk"
fi

# The completion: sources in bash and completes `kvmm run --di` to --disk.
completed=$(bash -c 'source "$1" && COMP_WORDS=(kvmm run --di) COMP_CWORD=2 && _kvmm &&
    printf "%s\n" "${COMPREPLY[@]}"' completion "$prefix/share/bash-completion/completions/kvmm") ||
    fail "the completion does not source"
[[ $completed == --disk ]] || fail "kvmm run --di completes to '$completed', not --disk"

# The installed kvmm's HTTP module (P/lib/kvmm/kvmm-http.so), loaded by a
# client's first request: to a socket no one listens on, it is "does not
# answer"; without the module, the missing module by name.
run_dir=$prefix/run
mkdir -m 700 "$run_dir"
python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$run_dir/dead.sock"
output=$(env -u KVMM_HTTP_MODULE KVMM_RUN_DIR="$run_dir" "$prefix/bin/kvmm" info dead 2>&1) &&
    fail "kvmm info answered for a dead socket"
[[ $output == *"does not answer"* ]] || fail "the installed kvmm's client: $output"
mv "$prefix/lib/kvmm/kvmm-http.so" "$prefix/lib/kvmm/moved.so"
output=$(env -u KVMM_HTTP_MODULE KVMM_RUN_DIR="$run_dir" "$prefix/bin/kvmm" info dead 2>&1) || true
[[ $output == *"kvmm-http.so is missing (looked for $prefix/bin/kvmm-http.so, $prefix/lib/kvmm/kvmm-http.so"* ]] ||
    fail "without P/lib/kvmm/kvmm-http.so: $output"
mv "$prefix/lib/kvmm/moved.so" "$prefix/lib/kvmm/kvmm-http.so"

# The installed kvmm finds its guest in P/lib/kvmm/guest with KVMM_GUEST_DIR
# unset: the exit benchmark looks for its guest before it opens KVM, so with
# no KVM device it must fail on the device, not on the guest.
output=$(env -u KVMM_GUEST_DIR KVMM_KVM_DEVICE=/nonexistent/kvm \
    "$prefix/bin/kvmm" bench exits --kind none --iterations 1 2>&1) && fail "bench exits ran without KVM"
[[ $output == *"/nonexistent/kvm"* && $output != *"not found"* ]] ||
    fail "the installed kvmm did not find its guest: $output"
mv "$prefix/lib/kvmm/guest" "$prefix/lib/kvmm/moved"
output=$(env -u KVMM_GUEST_DIR KVMM_KVM_DEVICE=/nonexistent/kvm \
    "$prefix/bin/kvmm" bench exits --kind none --iterations 1 2>&1) || true
[[ $output == *"was not found (looked in $prefix/bin/guest, $prefix/lib/kvmm/guest"* ]] ||
    fail "without P/lib/kvmm/guest: $output"

((failed == 0)) && echo "install: every check passed under $prefix"
exit "$failed"
