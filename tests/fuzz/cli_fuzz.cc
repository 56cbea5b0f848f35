// libFuzzer target for kvmm's command line (app/cli/options.h): the input,
// split at NUL bytes into argument words (argv without argv[0]), through
// parse_command_line().
//
// Invariant: it returns a Command or throws UsageError (main() prints it and
// exits 2) with a non-empty message that is one line whenever no argument
// holds a newline. Anything else escaping (another exception, a crash, a
// sanitizer report) is a bug.
//
// Words with a '/' are dropped: --config FILE is the one option that reads
// a file while parsing, and a path such as /dev/zero would read forever. A
// plain name is looked up in the current folder (tools/fuzz runs in the
// work tree's root), where it names a regular file, a folder or nothing.
//
// Build and run: tools/fuzz cli --seconds 60 (seeds in tests/fuzz/corpus/cli,
// written by tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "app/cli/options.h"
#include "base/util/error.h"

namespace {

// A broken promise is a bug: stop with a crash libFuzzer records.
void expect(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  bool newline = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\0', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(start, end - start);
    if (word.find('/') == std::string_view::npos) {
      args.push_back(word);
      newline = newline || word.find('\n') != std::string_view::npos;
    }
    start = end + 1;
  }
  try {
    const kvmm::Command command = kvmm::parse_command_line(args);
    if (const auto* help = std::get_if<kvmm::HelpCommand>(&command)) expect(!help->text.empty());
  } catch (const kvmm::UsageError& error) {
    const std::string_view message = error.what();
    expect(!message.empty());
    expect(newline || message.find('\n') == std::string_view::npos);
  } catch (...) {
    expect(false);  // Neither a Command nor a UsageError.
  }
  return 0;
}
