#!/usr/bin/env bash
# tools/bench-api on a flat guest, 20 rounds: it ends the VM cleanly and its
# table and JSON have the shape docs/api.md describes (one row per operation,
# 20 samples each, p50 <= p99 <= max). No figure is judged: a benchmark's
# timing is not a test's business.
#
# Usage: tests/tools/bench_api_test.sh TOOLS_BENCH_API (ctest passes it; label kvm)
set -euo pipefail

tool=${1:?usage: bench_api_test.sh PATH_TO_tools/bench-api}
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

if ! KVMM_NO_INSTALL=1 "$tool" --rounds 20 --cpus 2 --json "$work/api.json" >"$work/out" 2>"$work/err"; then
    cat -- "$work/out" "$work/err" >&2
    echo "FAILED: tools/bench-api --rounds 20 exited non-zero (output above)" >&2
    exit 1
fi
cat -- "$work/out"

failed=0
check() {
    if ! grep -Eq -- "$1" "$work/out"; then
        echo "FAILED: no line matching '$1' in the output above" >&2
        failed=1
    fi
}
number='[0-9]+\.[0-9]'
check '^operation +count +p50 us +p99 us +max us$'
for operation in 'GET vm\.info' 'PUT vm\.pause' 'PUT vm\.resume'; do
    check "^$operation +20 +$number +$number +$number\$"
done

# The JSON, read by python3's json module.
if ! python3 - "$work/api.json" <<'EOF_PY'; then
import json
import sys

document = json.load(open(sys.argv[1], encoding="utf-8"))
assert document["rounds"] == 20, document["rounds"]
assert document["vcpus"] == 2, document["vcpus"]
endpoints = [op["endpoint"] for op in document["operations"]]
assert endpoints == ["vm.info", "vm.pause", "vm.resume"], endpoints
for op in document["operations"]:
    assert op["count"] == 20 and len(op["samples_ns"]) == 20, op["endpoint"]
    assert 0 < op["p50_us"] <= op["p99_us"] <= op["max_us"], op["endpoint"]
EOF_PY
    echo "FAILED: the --json file does not have the expected shape (the assertion above)" >&2
    failed=1
fi
exit "$failed"
