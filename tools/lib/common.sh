# shellcheck shell=bash
# Shared helpers for the scripts in tools/. Source it; it defines functions only
# (plus KVMM_ROOT and kvmm_build_packages), so sourcing it has no side effects.
#
#   kvmm_die MSG...          print "PROG: MSG" to stderr and exit 1
#   kvmm_note MSG...         print "PROG: MSG" to stderr
#   kvmm_have_package PKG    is the Debian package PKG installed?
#   kvmm_ensure_packages SPEC...
#                            install what is missing; SPEC is "package" or
#                            "package:command" (the command being on PATH counts
#                            as installed, so a hand-built tool is accepted too).
#                            It says what it installs first; with
#                            KVMM_NO_INSTALL=1 it installs nothing and exits 1,
#                            printing the apt-get command that would
#   kvmm_compiler_launcher   print the -DCMAKE_CXX_COMPILER_LAUNCHER=... argument
#                            for cmake's configure step: ccache when installed
#   kvmm_configure_and_build configure and build build/ the one way all tools do
#   kvmm_configure_sanitizer_tree asan|tsan
#                            configure build/fuzz (ASan+UBSan, with the fuzz
#                            targets) or build/tsan (TSan) with clang++, the one
#                            way tools/fuzz and tools/sanitize do; prints the tree
#   kvmm_recipe PATH...      print one hash of the files at PATH... (relative to
#                            the repository root; a folder stands for every file
#                            in it), their names included: what a cached build
#                            output was made from

# The repository root: tools/lib/.. /.. , with symlinks resolved, because the
# nested KVM host sees the host's files under their physical paths.
KVMM_ROOT=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)

kvmm_prog=${kvmm_prog:-$(basename -- "$0")}

kvmm_die() {
    printf '%s: %s\n' "$kvmm_prog" "$*" >&2
    exit 1
}

kvmm_note() {
    printf '%s: %s\n' "$kvmm_prog" "$*" >&2
}

# kvmm_median: the median of the numbers on stdin, one a line; prints nothing
# when there are none, so a caller can tell "no samples" from a median of 0.
kvmm_median() {
    sort -n | awk '{a[NR] = $1} END {if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

kvmm_have_package() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# apt-get update is slow and needs the network, so run it at most once per
# process and only when something has to be installed.
kvmm_apt_updated=
kvmm_ensure_packages() {
    local spec pkg cmd missing=()
    for spec in "$@"; do
        pkg=${spec%%:*}
        cmd=
        [[ $spec == *:* ]] && cmd=${spec#*:}
        if [[ -n $cmd ]] && command -v "$cmd" >/dev/null 2>&1; then
            continue
        fi
        kvmm_have_package "$pkg" || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0

    if [[ ${KVMM_NO_INSTALL:-0} != 0 ]]; then
        local as_root=
        ((EUID == 0)) || as_root='sudo '
        kvmm_note "missing packages: ${missing[*]}"
        kvmm_die "KVMM_NO_INSTALL is set (or --no-install given), so nothing is installed; install them, then rerun: ${as_root}apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    command -v apt-get >/dev/null 2>&1 ||
        kvmm_die "missing packages: ${missing[*]}; this script installs them with apt-get (Debian 12), which is not here: install them by hand"
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 ||
            kvmm_die "missing packages: ${missing[*]}; run as root or install them: apt-get install -y --no-install-recommends ${missing[*]}"
        sudo=(sudo)
    fi
    kvmm_note "installing missing packages: ${missing[*]}"
    # apt and dpkg are chatty; keep their output for when something fails.
    local log
    log=$(mktemp)
    if [[ -z $kvmm_apt_updated ]]; then
        if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1; then
            cat "$log" >&2
            rm -f -- "$log"
            kvmm_die "apt-get update failed (above); check the network and /etc/apt/sources.list, then rerun"
        fi
        kvmm_apt_updated=1
    fi
    if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f -- "$log"
        kvmm_die "apt-get install ${missing[*]} failed (above); fix that, then rerun"
    fi
    rm -f -- "$log"
}

# Packages needed to configure and build kvmm (compiler, CMake, nasm for the
# guests, Catch2 for unit tests, the kernel headers for <linux/kvm.h>, liburing
# for the virtio-blk io_uring engine, cpp-httplib and nlohmann-json for the API).
# shellcheck disable=SC2034 # used by the scripts that source this file
kvmm_build_packages=(
    build-essential:g++ make:make cmake:cmake nasm:nasm catch2 linux-libc-dev
    pkg-config:pkg-config liburing-dev libseccomp-dev groff-base:groff nlohmann-json3-dev
    libcpp-httplib-dev libslirp-dev liblzma-dev zlib1g-dev libzstd-dev liblz4-dev
)

# ccache makes a rebuild after 'rm -rf build' or a switched branch cost
# little. Without ccache the argument is empty, which also clears a
# launcher that an earlier configure left in the cache.
kvmm_compiler_launcher() {
    local launcher=
    command -v ccache >/dev/null 2>&1 && launcher=ccache
    printf '%s\n' "-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher"
}

kvmm_configure_and_build() {
    cd -- "$KVMM_ROOT" || kvmm_die "cannot cd to $KVMM_ROOT"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVMM_WERROR=ON "$(kvmm_compiler_launcher)" ||
        kvmm_die "cmake configure failed (see above); after fixing it, rerun (rm -rf build if the cache is stale)"
    cmake --build build -j"$(nproc)" ||
        kvmm_die "build failed (see the compiler errors above)"
}

# The sanitizer trees are clang's: libFuzzer is clang's, and one compiler for
# both keeps their runtimes (libclang-rt-14-dev) one package.
# shellcheck disable=SC2034 # used by the scripts that source this file
kvmm_sanitizer_packages=(clang:clang++ libclang-rt-14-dev)

kvmm_configure_sanitizer_tree() {
    local tree args=()
    case $1 in
        asan)
            tree=$KVMM_ROOT/build/fuzz
            args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVMM_FUZZ=ON)
            ;;
        tsan)
            # -O1: TSan's own advice, and half the build time of -O2 here.
            tree=$KVMM_ROOT/build/tsan
            args=(-DCMAKE_BUILD_TYPE=Debug '-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1' -DKVMM_SANITIZE=thread)
            ;;
        *) kvmm_die "no sanitizer tree '$1' (asan or tsan)" ;;
    esac
    # Warnings are the gcc build's to enforce (build/); clang's differ.
    CXX=clang++ cmake -S "$KVMM_ROOT" -B "$tree" "${args[@]}" -DKVMM_WERROR=OFF -DBUILD_TESTING=ON "$(kvmm_compiler_launcher)" >/dev/null ||
        kvmm_die "cmake configure of $tree failed (see above); if it was configured with another compiler, rm -rf $tree and rerun"
    printf '%s\n' "$tree"
}

kvmm_recipe() {
    (cd -- "$KVMM_ROOT" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum --) |
        sha256sum | cut -d' ' -f1
}
