#!/usr/bin/env bash
# -DBUILD_TESTING=OFF configures kvmm with Catch2 made unfindable, and the
# generated build has the kvmm executable and none of the test executables:
# a packager builds kvmm without the test framework.
# Usage: no_testing_test.sh SOURCE_DIR
set -euo pipefail
source_dir=${1:?usage: no_testing_test.sh SOURCE_DIR}
build=$(mktemp -d /tmp/kvmm-no-testing-XXXXXX)
trap 'rm -rf -- "$build"' EXIT

if ! cmake -S "$source_dir" -B "$build" -DBUILD_TESTING=OFF \
    -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON >"$build/configure.log" 2>&1; then
    cat "$build/configure.log"
    echo "FAIL: configuring with -DBUILD_TESTING=OFF and no Catch2 failed (above)"
    exit 1
fi
targets=$(cmake --build "$build" --target help)
for wanted in kvmm kvmm_app kvmm_vmm kvmm_devices kvmm_base guests; do
    grep -qw -- "$wanted" <<<"$targets" || { echo "FAIL: no target $wanted without tests"; exit 1; }
done
for unwanted in unit_tests cli_tests kvm_tests linux_tests; do
    if grep -qw -- "$unwanted" <<<"$targets"; then
        echo "FAIL: target $unwanted is configured with -DBUILD_TESTING=OFF"
        exit 1
    fi
done
echo "no_testing_test: kvmm configures without Catch2 and without test targets"
