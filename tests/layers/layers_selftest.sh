#!/usr/bin/env bash
# Shows that check_layers.sh can fail: in a scratch tree, a base/ file that
# includes a vmm/ header must be reported, and the same tree without it must
# pass.
set -euo pipefail
check=$(dirname -- "${BASH_SOURCE[0]}")/check_layers.sh
tree=$(mktemp -d)
trap 'rm -rf -- "$tree"' EXIT
mkdir -p "$tree"/{base/util,devices,vmm/cpu,app/cli}
printf '#include "base/util/error.h"\n' >"$tree/devices/ok.h"
printf '#include "devices/ok.h"\n#include "base/util/error.h"\n' >"$tree/vmm/cpu/ok.cc"
printf '#pragma once\n' >"$tree/base/util/error.h"
"$check" "$tree" >/dev/null || { echo "layers_selftest: a clean tree was refused"; exit 1; }
printf '#include "vmm/cpu/ok.h"\n' >"$tree/base/util/bad.cc"
if out=$("$check" "$tree"); then
    echo "layers_selftest: base/util/bad.cc includes vmm/ and was not reported"
    exit 1
fi
grep -q '^base/util/bad.cc:1: vmm/cpu/ok.h' <<<"$out" ||
    { echo "layers_selftest: the report does not name the bad include: $out"; exit 1; }
echo "layers_selftest: a base/ file including vmm/ is reported; a clean tree passes"
