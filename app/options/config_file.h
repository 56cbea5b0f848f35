#pragma once
// A verb's options read from a JSON file (`kvmm run --config vm.json`),
// through the verb's own table, so a file accepts exactly what the command
// line does and refuses it in the same words (docs/api.md, "Config files").
//
// The file is one JSON object: each key an option's name without "--", each
// value what follows the option on the command line — a string, a number
// where the option takes one, true (or false: left out) for a flag, a list
// of strings for an option that may repeat.
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "app/options/option_table.h"

namespace kvmm {

// The names ("--cpus") of the options a command line gave.
using GivenOptions = std::set<std::string, std::less<>>;

// Wraps each option's setter of `verb` so that parsing a command line with
// it records the option's name in `given` (which must outlive the verb).
void record_given_options(Verb& verb, GivenOptions& given);

// Applies each key of `file` to `verb` as the option of that name, in the
// file's order, except the options in `given` (the command line's replace
// the file's, a repeatable option's whole list included). `self` is the
// option that named the file ("--config"); the file may not give it.
// Throws UsageError naming the file and the key: an unreadable file,
// malformed JSON (with its line and column), an unknown key, a value of
// the wrong JSON type, or the option's own refusal of the value.
void apply_config_file(const Verb& verb, const std::filesystem::path& file,
                       const GivenOptions& given, std::string_view self);

}  // namespace kvmm
