#!/usr/bin/env bash
# tools/nested/boot-progress without a nested host or a terminal: one line
# with the boot's length once ALIVE appears, nothing (and exit 0) when the
# host's process ends first.
#
# Usage: tests/tools/nested_boot_progress_test.sh tools/nested/boot-progress
set -euo pipefail

tool=${1:?usage: nested_boot_progress_test.sh PATH/TO/boot-progress}
tmp=$(mktemp -d)
sleeper=
cleanup() {
    [[ -z $sleeper ]] || kill "$sleeper" 2>/dev/null || true
    rm -rf -- "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# The host comes up after about a second.
sleep 60 &
sleeper=$!
(trap - EXIT; sleep 1.2 && touch "$tmp/alive") &
"$tool" "$tmp/alive" "$sleeper" 2>"$tmp/err" >"$tmp/out" ||
    fail "boot-progress exited $? with the host up"
[[ ! -s $tmp/out ]] || fail "boot-progress wrote to stdout: $(<"$tmp/out")"
mapfile -t lines <"$tmp/err"
((${#lines[@]} == 1)) || fail "expected one line on stderr, got ${#lines[@]}: $(<"$tmp/err")"
[[ ${lines[0]} =~ ^with-kvm:\ the\ nested\ KVM\ host\ booted\ in\ [12]\ s$ ]] ||
    fail "unexpected line: ${lines[0]}"
echo "ok: ${lines[0]}"

# The host's process ends before it is up: no line, exit 0.
kill "$sleeper"
wait "$sleeper" 2>/dev/null || true
sleeper=
true &
ended=$!
wait "$ended"
rm -f -- "$tmp/alive"
"$tool" "$tmp/alive" "$ended" 2>"$tmp/err" || fail "boot-progress exited $? when the host ended"
[[ ! -s $tmp/err ]] || fail "expected no output when the host ended first, got: $(<"$tmp/err")"
echo "ok: silent when the host ends before it is up"

# Usage errors.
if "$tool" "$tmp/alive" 2>/dev/null; then fail "boot-progress accepted one argument"; fi
echo "ok: usage"
