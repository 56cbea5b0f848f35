#!/usr/bin/env bash
# tools/quickstart's non-interactive boot end to end: the default guest runs
# detached with its console on a socket, two command lines are typed through
# kvmm console, and the guest's answers and its power-off come back through
# --console-log. Needs a KVM that boots Linux and build/default-guest.
set -euo pipefail
root=$(cd -- "$(dirname -- "$0")/../.." && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }

status=0
out=$(KVMM_NO_INSTALL=1 timeout 300 "$root/tools/quickstart" --guest-check 2>&1) || status=$?
printf '%s\n' "$out"
((status == 0)) || fail "tools/quickstart --guest-check exited with status $status"
# The second command line's output: what the guest's kernel and CPU count are.
grep -qF -- "$(cat "$root/build/default-guest/kernel-version")" <<<"$out" ||
    fail "the guest's 'uname -r' output is missing"
grep -qxE -- $'1\r?' <<<"$out" || fail "the guest's 'nproc' output (1) is missing"
grep -qF -- "reboot: Power down" <<<"$out" || fail "the guest did not power off"
grep -qF -- "== the guest booted, ran the commands and powered off" <<<"$out" ||
    fail "quickstart did not report success"
