#include "app/bench/report_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/util/error.h"

namespace kvmm {

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    const std::string& field = fields[i];
    if (field.find_first_of(",\"\r\n") == std::string::npos) {
      out += field;
      continue;
    }
    out += '"';
    for (const char c : field) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  return out + '\n';
}

std::string TextTable::format() const {
  std::vector<size_t> widths(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  widen(header_);
  for (const auto& row : rows_) widen(row);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      const std::string pad(widths[i] - cell.size(), ' ');
      if (i > 0) out += "  ";
      out += i == 0 ? cell + pad : pad + cell;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + '\n';
  };
  std::string out = line(header_);
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string format_fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

void check_output_writable(const std::string& path, std::string_view what) {
  const std::string prefix = "cannot write the " + std::string(what) + " file " + path + ": ";
  if (path.empty()) throw Error("the " + std::string(what) + " file name is empty: give a path");
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::is_directory(path, error)) {
    throw Error(prefix + "it is a directory: give a file name");
  }
  if (fs::exists(path, error)) {
    if (::access(path.c_str(), W_OK) != 0) {
      throw Error(prefix + strerrordesc_np(errno) + ": check its permissions or pick another path");
    }
    return;
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  if (!fs::is_directory(dir, error)) {
    throw Error(prefix + "directory " + dir.string() + " does not exist: create it first");
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw Error(prefix + "directory " + dir.string() + " is not writable (" +
                strerrordesc_np(errno) + "): pick another path");
  }
}

void write_output_file(const std::string& path, std::string_view text, std::string_view what) {
  check_output_writable(path, what);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(text.data(), static_cast<std::streamsize>(text.size()));
  file.close();
  if (!file) {
    throw Error("cannot write the " + std::string(what) + " file " + path +
                ": the write failed (disk full?): free space or pick another path");
  }
}

}  // namespace kvmm
