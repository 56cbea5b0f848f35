#!/usr/bin/env bash
# Every shell script in the repository passes shellcheck with no finding at
# all (style included). Scripts are found, not listed, so a new one cannot
# escape: a file is a shell script when its name ends in .sh or .bash, its
# first line is a #! line naming sh, bash, dash or ash (also through env or
# busybox), or one of its first 5 lines is a "# shellcheck shell=" directive
# (sourced files and /etc/profile fragments). The files are git's (tracked,
# and untracked ones not ignored) or, outside a git checkout, every file
# outside build*/ and .git/.
#
# Usage: tests/tools/shellcheck_test.sh SOURCE_DIR
set -euo pipefail

src=${1:?usage: shellcheck_test.sh SOURCE_DIR}
cd -- "$src"

command -v shellcheck >/dev/null ||
    { echo "FAILED: shellcheck is not installed: apt-get install shellcheck (tools/test installs it)" >&2; exit 1; }

is_shell_script() {
    local file=$1 first line n=0
    case $file in *.sh | *.bash) return 0 ;; esac
    [[ -f $file && -r $file ]] || return 1
    IFS= read -r first <"$file" || [[ -n ${first:-} ]] || return 1
    if [[ $first =~ ^\#!.*[/[:space:]](sh|bash|dash|ash)([[:space:]]|$) ]]; then
        return 0
    fi
    while IFS= read -r line && ((n++ < 5)); do
        [[ $line =~ ^\#[[:space:]]*shellcheck[[:space:]]+shell= ]] && return 0
    done <"$file"
    return 1
}

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -d '' candidates < <(git ls-files -z --cached --others --exclude-standard | sort -zu)
else
    mapfile -d '' candidates < <(find . -path ./.git -prune -o -path './build*' -prune -o -type f -printf '%P\0' | sort -z)
fi
scripts=()
for file in "${candidates[@]}"; do
    # Deleted but not yet committed files are still in git's index.
    [[ -f $file ]] || continue
    if is_shell_script "$file"; then scripts+=("$file"); fi
done

# A guard against the search itself breaking: these must be among them.
for expected in tools/test tools/with-kvm tools/lib/common.sh .ci/run; do
    found=
    for file in "${scripts[@]}"; do [[ $file == "$expected" ]] && found=1 && break; done
    [[ -n $found ]] || { echo "FAILED: the search for shell scripts missed $expected" >&2; exit 1; }
done

echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p') on ${#scripts[@]} scripts:"
printf '  %s\n' "${scripts[@]}"
# -x follows the files they source (their source-path directives say where).
if ! shellcheck -x -- "${scripts[@]}"; then
    echo "FAILED: shellcheck findings above; fix them (or, where the code is right, add a" \
        "'# shellcheck disable=SCnnnn # why' line)" >&2
    exit 1
fi
echo "no findings"
