#pragma once
// One table per verb declares each option once — its name, value
// placeholder, help text, how to complete its value and what it sets — and
// everything a user reads or types comes from the tables: the parser,
// `kvmm VERB --help`, `kvmm --help`, the man page and bash completion
// (after Firecracker's utils/src/arg_parser.rs and kvmtool's OPT_* tables).
// Generic: knows nothing of kvmm's verbs (app/cli/options.cc has them).
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmm {

enum class OptionValue {
  kNone,      // --flag
  kRequired,  // --name VALUE or --name=VALUE
  kOptional,  // --name or --name=VALUE (then the option's implicit_value)
};

// What bash completes after the option.
enum class Completion { kNothing, kFile, kWords };

struct Option {
  std::string_view name;         // "--disk"
  std::string_view placeholder;  // "PATH[,ro]..." ("" for a flag); for kOptional "text|json".
  // Wrapped by the formatters; '\n' starts a new line at the same indent.
  std::string_view help;
  OptionValue value = OptionValue::kRequired;
  std::string_view implicit_value = {};  // kOptional given without "=VALUE".
  Completion completion = Completion::kNothing;
  std::vector<std::string_view> words = {};  // kWords: the fixed values.
  // Given more than once, each value adds one more (--disk): a config file
  // may give a list (app/cli/config_file.h).
  bool repeatable = false;
  // Called with the value ("" for a flag). Throws Error for a bad value; the
  // parser turns it into a UsageError.
  std::function<void(std::string_view)> set = {};
};

// A titled paragraph after a verb's options ("Console", "Devices").
struct HelpSection {
  std::string_view title;
  std::string_view text;
};

struct Verb {
  std::string_view name;                // "run", "bench exits"; "" for the top level.
  std::vector<std::string_view> usage;  // Synopsis lines, each after "kvmm ".
  std::string_view summary;             // One line, for the command list.
  std::string_view description;         // Paragraphs before the options.
  std::vector<Option> options;          // --help is implied in every verb.
  std::vector<HelpSection> sections = {};
  // One operand besides the options (`kvmm info NAME`): its placeholder and
  // what it sets; empty when the verb takes none. The parser requires it.
  std::string_view operand = {};
  std::function<void(std::string_view)> set_operand = {};
};

// An exit status or environment variable, documented for `verbs` (empty: all).
struct HelpEntry {
  std::string_view name;
  std::string_view text;
  std::vector<std::string_view> verbs = {};
};

struct Program {
  std::string_view name;         // "kvmm"
  std::string_view summary;      // "a minimal hypervisor on Linux KVM"
  std::string_view description;
  Verb top;                      // The options before a verb (--version, ...).
  std::vector<Verb> verbs;
  std::vector<HelpEntry> exit_statuses;
  std::vector<HelpEntry> environment;
};

enum class ParseResult { kParsed, kHelp };

// Walks `args` (what follows the verb's name) through the verb's table,
// calling each option's `set`. Stops at --help or -h (where an option may
// stand) and returns kHelp.
// Throws UsageError naming the bad argument and `kvmm VERB --help`; for an
// unknown option ("--memory", or one dash: "-m") also the one meant
// (suggest_option).
ParseResult parse_options(const Verb& verb, std::span<const std::string_view> args);

// The option of `verb` that someone who typed `typed` ("--memory", "-m",
// "--cpu") most likely meant, or "" when none is close: first the names
// other VMMs give the same thing (QEMU, cloud-hypervisor, kvmtool,
// virt-install), then the one-dash spelling of a kvmm option (QEMU's
// -kernel), then the option nearest in edit distance, if near enough.
std::string_view suggest_option(const Verb& verb, std::string_view typed);

// The word of `words` nearest `typed` in edit distance, if it differs in at
// most a third of its letters ("lsit" -> "list"); "" when none is.
std::string_view closest_word(std::string_view typed, const std::vector<std::string_view>& words);

// `kvmm VERB --help`: usage, description, options, sections, exit statuses
// and environment that concern the verb.
std::string format_verb_help(const Program& program, const Verb& verb);
// `kvmm --help`: every verb's usage and options, then statuses and environment.
std::string format_program_help(const Program& program);
// kvmm.1: the same in roff (man(7)).
std::string format_man_page(const Program& program, std::string_view version);
// A bash completion script: verbs, each verb's options, fixed values, files.
std::string format_bash_completion(const Program& program);

}  // namespace kvmm
