#pragma once
// A guest physical address. Its own type so a GPA is never mixed up with a
// host pointer, an offset or a length.
#include <compare>
#include <cstdint>
#include <optional>

namespace kvmm {

struct GuestAddress {
  uint64_t value = 0;

  constexpr auto operator<=>(const GuestAddress&) const = default;

  // Overflow-checked: nullopt when value + offset wraps past 2^64.
  constexpr std::optional<GuestAddress> checked_add(uint64_t offset) const {
    if (value > UINT64_MAX - offset) return std::nullopt;
    return GuestAddress{value + offset};
  }
};

}  // namespace kvmm
