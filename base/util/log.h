#pragma once
// Diagnostics to stderr, one line each, prefixed "kvmm: " so they never mix
// with the guest's console on stdout.
#include <string_view>

namespace kvmm {

void log_line(std::string_view message);

}  // namespace kvmm
