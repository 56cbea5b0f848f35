#pragma once
// For the --net parsing tests: what parse_net_options says of `text`, its
// error message, or "accepted".
#include <string>

#include "app/cli/device_options.h"
#include "base/util/error.h"

namespace kvmm::testing {

inline std::string net_option_refusal(const std::string& text) {
  try {
    parse_net_options(text, 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace kvmm::testing
