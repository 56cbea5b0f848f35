#include "devices/virtio/block/disk_options.h"

#include <vector>

#include "base/util/error.h"

namespace kvmm {

namespace {

constexpr const char* kForms = "accepted: --disk PATH[,ro][,serial=S][,cache=none|writeback]";

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

[[noreturn]] void refuse(const std::string& what) { throw Error("--disk: " + what + "; " + kForms); }

void check_serial(std::string_view serial) {
  if (serial.empty()) refuse("serial= is empty");
  if (serial.size() > kDiskSerialMax) {
    refuse("serial '" + std::string(serial) + "' is " + std::to_string(serial.size()) +
           " bytes, more than the 20 virtio-blk can report");
  }
  for (char c : serial) {
    // The guest shows it in /sys/block/vdX/serial: printable ASCII only.
    if (c < 0x21 || c > 0x7e) refuse("serial '" + std::string(serial) + "' has a character that is not printable ASCII");
  }
}

}  // namespace

DiskOptions parse_disk_options(std::string_view text) {
  const std::vector<std::string_view> parts = split(text, ',');
  DiskOptions options;
  if (parts[0].empty()) refuse("no image path before the options");
  options.path = std::string(parts[0]);
  bool seen_ro = false, seen_serial = false, seen_cache = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = parts[i];
    const size_t eq = part.find('=');
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    auto once = [&](bool& seen) {
      if (seen) refuse("'" + std::string(key) + "' given twice");
      seen = true;
    };
    if (part.empty()) {
      refuse("empty option (two commas in a row or a trailing comma)");
    } else if (key == "ro") {
      if (eq != std::string_view::npos) refuse("'ro' takes no value (got '" + std::string(part) + "')");
      once(seen_ro);
      options.access = DiskAccess::kReadOnly;
    } else if (key == "serial") {
      if (eq == std::string_view::npos) refuse("serial needs a value: serial=S");
      once(seen_serial);
      check_serial(value);
      options.serial = std::string(value);
    } else if (key == "cache") {
      once(seen_cache);
      if (value == "none") {
        options.cache = DiskCache::kNone;
      } else if (value == "writeback") {
        options.cache = DiskCache::kWriteback;
      } else {
        refuse("cache must be none or writeback (got '" + std::string(part) + "')");
      }
    } else {
      refuse("unknown option '" + std::string(part) + "'");
    }
  }
  return options;
}

}  // namespace kvmm
