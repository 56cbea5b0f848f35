#!/usr/bin/env bash
# Checks that kvmm's layers form a DAG: a file may include only headers of its
# own folder and of the folders listed below it (ARCHITECTURE.md, "Layers").
# Prints each include that breaks the rule as FILE:LINE: INCLUDE (FOLDER may
# not include it) and exits 1 if there is any.
# Usage: check_layers.sh [SOURCE_ROOT]
set -euo pipefail
root=${1:-$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)}
cd -- "$root"

# FOLDER: the folders its files may include from (its own is implied). The
# first matching FOLDER (longest first) decides.
rules=(
    "base/util:"
    "base/memory:base/util"
    "base/bus:base/util base/memory"
    "devices:base"
    "vmm/arch:base"
    "vmm/kvm:base"
    "vmm/boot:base vmm/arch"
    "vmm/cpu:base devices vmm/kvm vmm/arch"
    "vmm/console:base devices"
    "vmm/security:base devices vmm/kvm"
    "vmm/machine:base devices vmm"
    "app/options:base"
    "app/bench:base devices vmm app/options"
    "app/api:base devices vmm"
    "app/cli:base devices vmm app/options app/bench app/api"
    "app:base devices vmm app"
)

# The rule for a path: the longest FOLDER that is a prefix of it.
rule_for() {
    local path=$1 best='' best_allowed='' folder allowed rule
    for rule in "${rules[@]}"; do
        folder=${rule%%:*}
        allowed=${rule#*:}
        if [[ $path == "$folder"/* && ${#folder} -gt ${#best} ]]; then
            best=$folder
            best_allowed=$allowed
        fi
    done
    printf '%s:%s\n' "$best" "$best_allowed"
}

bad=0 checked=0
while IFS= read -r -d '' file; do
    rule=$(rule_for "$file")
    folder=${rule%%:*}
    [[ -n $folder ]] || continue
    read -r -a allowed <<<"${rule#*:}"
    allowed+=("$folder")
    checked=$((checked + 1))
    while IFS=: read -r line include; do
        ok=
        for prefix in "${allowed[@]}"; do
            [[ $include == "$prefix"/* ]] && ok=1 && break
        done
        if [[ -z $ok ]]; then
            echo "$file:$line: $include ($folder may include only: ${allowed[*]})"
            bad=1
        fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"' "$file" |
        sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1:\2/')
done < <(find base devices vmm app -type f \( -name '*.h' -o -name '*.cc' \) -print0)

((checked > 0)) || { echo "check_layers: no sources found under $root"; exit 1; }
if ((bad)); then
    echo "check_layers: a lower layer includes a higher one (above); move the code down or the include up"
    exit 1
fi
echo "check_layers: $checked files, every include points down or sideways"
