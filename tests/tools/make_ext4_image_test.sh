#!/usr/bin/env bash
# tools/make-ext4-image end to end: an image from a folder holds its files
# (read back with debugfs, no mount), passes e2fsck, and bad arguments are
# refused with a message naming them.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin
tool=$1
work=$(mktemp -d /tmp/kvmm-mkimage-XXXXXX)
trap 'rm -rf -- "$work"' EXIT

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

mkdir -p "$work/src/etc/deep"
printf 'hello from the host\n' >"$work/src/hello.txt"
printf 'nested\n' >"$work/src/etc/deep/file"
head -c 1500000 /dev/urandom >"$work/src/blob"

"$tool" "$work/src" "$work/disk.img" >"$work/out" || fail "make-ext4-image failed: $(cat "$work/out")"
[[ -f $work/disk.img ]] || fail "no image written"
(($(stat -c %s "$work/disk.img") % 512 == 0)) || fail "image size is not whole sectors"
[[ $(debugfs -R 'cat /hello.txt' "$work/disk.img" 2>/dev/null) == 'hello from the host' ]] ||
    fail "/hello.txt not in the image"
[[ $(debugfs -R 'cat /etc/deep/file' "$work/disk.img" 2>/dev/null) == nested ]] ||
    fail "/etc/deep/file not in the image"
debugfs -R 'dump /blob '"$work/blob.out" "$work/disk.img" 2>/dev/null
cmp -s "$work/src/blob" "$work/blob.out" || fail "/blob differs"
e2fsck -fn "$work/disk.img" >/dev/null 2>&1 || fail "e2fsck -fn found errors"

"$tool" "$work/src" "$work/sized.img" 40M >/dev/null || fail "explicit size refused"
(($(stat -c %s "$work/sized.img") == 40 * 1024 * 1024)) || fail "40M image has the wrong size"

refused() {  # refused PATTERN ARGS...: the tool fails and says PATTERN
    local pattern=$1
    shift
    if "$tool" "$@" >"$work/err" 2>&1; then fail "accepted: $*"; fi
    grep -q -- "$pattern" "$work/err" || fail "for '$*' expected '$pattern', got: $(cat "$work/err")"
}
refused "already exists" "$work/src" "$work/disk.img"
refused "does not exist" "$work/missing" "$work/x.img"
refused "is not a folder" "$work/src/hello.txt" "$work/x.img"
refused "not a number" "$work/src" "$work/x.img" 10Q
refused "does not fit" "$work/src" "$work/x.img" 1M
refused "expected DIR IMAGE" "$work/src"
[[ ! -e $work/x.img ]] || fail "a refused run left an image behind"
"$tool" --force "$work/src" "$work/disk.img" >/dev/null || fail "--force did not overwrite"
echo "make-ext4-image: all checks passed"
