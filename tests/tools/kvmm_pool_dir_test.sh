#!/usr/bin/env bash
# tools/kvmm-pool on a directory pool, end to end without root: create makes
# a sparse raw file of the size asked and never overwrites, list and path show
# it, delete removes it but refuses while the volume is locked the way a
# running kvmm locks its disks, and bad arguments are refused with one line
# naming them. Volume group pools run in the nested host's LVM test.
set -euo pipefail
tool=$1
work=$(mktemp -d /tmp/kvmm-pool-XXXXXX)
trap 'rm -rf -- "$work"' EXIT
cd "$work"
mkdir images

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

path=$("$tool" create ./images data 64M) || fail "create failed"
[[ $path == "$work/images/data.raw" ]] || fail "create printed '$path', not $work/images/data.raw"
(($(stat -c %s -- "$path") == 64 << 20)) || fail "data.raw is not 64 MiB"
(($(stat -c %b -- "$path") * $(stat -c %B -- "$path") < 1 << 20)) || fail "data.raw is not sparse"
"$tool" create "$work/images" small 4096 >/dev/null || fail "create with a byte size failed"
(($(stat -c %s -- images/small.raw) == 4096)) || fail "small.raw is not 4096 bytes"

[[ $("$tool" path ./images data) == "$path" ]] || fail "path does not print the created path"
list=$("$tool" list ./images)
grep -qE "^NAME +SIZE +PATH$" <<<"$list" || fail "list has no header: $list"
grep -qE "^data +64M +$work/images/data.raw$" <<<"$list" || fail "list lacks data: $list"
grep -qE "^small +4.0K +$work/images/small.raw$" <<<"$list" || fail "list lacks small: $list"
(($(wc -l <<<"$list") == 3)) || fail "list shows other files: $list"

refused() {  # refused PATTERN ARGS...: the tool fails with one line saying PATTERN
    local pattern=$1
    shift
    if "$tool" "$@" >"$work/out" 2>"$work/err"; then fail "accepted: $*"; fi
    [[ ! -s $work/out ]] || fail "'$*' printed on stdout: $(cat "$work/out")"
    (($(wc -l <"$work/err") == 1)) || fail "'$*' printed more than one line: $(cat "$work/err")"
    grep -qF -- "$pattern" "$work/err" || fail "for '$*' expected '$pattern', got: $(cat "$work/err")"
}

printf 'keep' | dd of="$path" conv=notrunc status=none
refused "volume data already exists" create ./images data 1G
[[ $(head -c 4 -- "$path") == keep ]] || fail "a refused create changed data.raw"
refused "pool directory ./nowhere does not exist; create it: mkdir -p ./nowhere" create ./nowhere x 1G
refused "size '10Q' is not a number" create ./images x 10Q
refused "size '0' is out of range" create ./images x 0
refused "size '1000' is not a whole number of 512-byte sectors" create ./images x 1000
refused "volume name '../x' is not" create ./images ../x 1G
refused "volume name '-x' is not" create ./images -x 1G
refused "no volume missing in ./images" path ./images missing
refused "no volume missing in ./images" delete ./images missing
refused "create takes POOL NAME SIZE" create ./images x
refused "unknown command 'destroy'" destroy ./images x
[[ ! -e images/x.raw ]] || fail "a refused create left x.raw behind"

# A running kvmm holds a lock on its disk: delete waits for it to end.
exec {lock}<"$path"
flock -x "$lock"
refused "volume data is in use" delete ./images data
[[ -f $path ]] || fail "delete removed a volume in use"
exec {lock}<&-

"$tool" delete ./images data || fail "delete failed"
[[ ! -e $path ]] || fail "delete left data.raw"
[[ $("$tool" list ./images | wc -l) == 2 ]] || fail "list still shows data after delete"
echo "kvmm-pool directory pools: all checks passed"
