#include "app/options/option_table.h"

#include <algorithm>
#include <set>

#include "app/options/arg_reader.h"
#include "base/util/error.h"

namespace kvmm {

namespace {

constexpr size_t kWidth = 79;
constexpr size_t kHelpColumn = 19;  // Where option help starts in --help.

// --help is in every verb; listing it here keeps it in the help, the man page
// and completion like any other option.
const Option& help_option() {
  static const Option option{.name = "--help", .placeholder = "", .help = "print this help and exit",
                             .value = OptionValue::kNone};
  return option;
}

std::vector<const Option*> all_options(const Verb& verb) {
  std::vector<const Option*> options;
  for (const Option& option : verb.options) options.push_back(&option);
  options.push_back(&help_option());
  return options;
}

std::string command_name(std::string_view program, const Verb& verb) {
  return verb.name.empty() ? std::string(program) : std::string(program) + " " + std::string(verb.name);
}

// "--disk PATH", "--stats[=text|json]", "--quiet"
std::string option_label(const Option& option) {
  std::string label(option.name);
  if (option.value == OptionValue::kRequired) label += " " + std::string(option.placeholder);
  if (option.value == OptionValue::kOptional) label += "[=" + std::string(option.placeholder) + "]";
  return label;
}

bool concerns(const HelpEntry& entry, const Verb* verb) {
  return verb == nullptr || entry.verbs.empty() ||
         std::find(entry.verbs.begin(), entry.verbs.end(), verb->name) != entry.verbs.end();
}

// `text` filled to kWidth: each '\n'-separated line wrapped on its own, every
// output line indented by `indent` except the first `first_used` columns are
// already taken (the first line then continues them).
void append_wrapped(std::string& out, std::string_view text, size_t indent, size_t first_used) {
  size_t column = first_used;
  bool line_start = true;
  bool first = true;
  auto new_line = [&] {
    out += '\n';
    out.append(indent, ' ');
    column = indent;
    line_start = true;
  };
  if (column < indent) {
    out.append(indent - column, ' ');
    column = indent;
  }
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    if (!first) new_line();
    first = false;
    size_t at = 0;
    while (at < line.size()) {
      while (at < line.size() && line[at] == ' ') ++at;
      if (at >= line.size()) break;
      const size_t word_end = std::min(line.find(' ', at), line.size());
      const std::string_view word = line.substr(at, word_end - at);
      if (!line_start && column + 1 + word.size() > kWidth) new_line();
      if (!line_start) {
        out += ' ';
        ++column;
      }
      out += word;
      column += word.size();
      line_start = false;
      at = word_end;
    }
    start = end + 1;
  }
  out += '\n';
}

void append_options(std::string& out, const Verb& verb) {
  for (const Option* option : all_options(verb)) {
    const std::string label = "  " + option_label(*option);
    out += label;
    if (label.size() + 1 < kHelpColumn) {
      append_wrapped(out, option->help, kHelpColumn, label.size());
    } else {
      out += '\n';
      append_wrapped(out, option->help, kHelpColumn, 0);
    }
  }
}

void append_entries(std::string& out, std::string_view title, const std::vector<HelpEntry>& entries,
                    const Verb* verb) {
  std::string body;
  for (const HelpEntry& entry : entries) {
    if (!concerns(entry, verb)) continue;
    const std::string label = "  " + std::string(entry.name);
    body += label;
    if (label.size() + 1 < kHelpColumn) {
      append_wrapped(body, entry.text, kHelpColumn, label.size());
    } else {
      body += '\n';
      append_wrapped(body, entry.text, kHelpColumn, 0);
    }
  }
  if (body.empty()) return;
  out += "\n" + std::string(title) + ":\n" + body;
}

void append_verb_body(std::string& out, const Verb& verb) {
  if (!verb.description.empty()) append_wrapped(out, verb.description, 2, 0);
  out += '\n';
  append_options(out, verb);
  for (const HelpSection& section : verb.sections) {
    out += "\n  " + std::string(section.title) + ":\n";
    append_wrapped(out, section.text, 4, 0);
  }
}

// roff (man(7)): a backslash is \e, a hyphen \-, and a line may not start
// with a control character.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (const char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (c == '\n') {
      out += "\n.br\n";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

void append_man_option(std::string& out, const Option& option) {
  out += ".TP\n\\fB" + roff(option.name) + "\\fR";
  if (option.value == OptionValue::kRequired) out += " \\fI" + roff(option.placeholder) + "\\fR";
  if (option.value == OptionValue::kOptional) {
    out += "[=\\fI" + roff(option.placeholder) + "\\fR]";
  }
  out += "\n" + roff(option.help) + "\n";
}

void append_man_entries(std::string& out, std::string_view title,
                        const std::vector<HelpEntry>& entries) {
  out += ".SH \"" + std::string(title) + "\"\n";
  for (const HelpEntry& entry : entries) {
    out += ".TP\n.B " + roff(entry.name) + "\n" + roff(entry.text) + "\n";
  }
}

std::string words_of(const std::vector<std::string_view>& words) {
  std::string out;
  for (const std::string_view word : words) {
    if (!out.empty()) out += ' ';
    out += word;
  }
  return out;
}

// What users of other VMMs type for an option kvmm has, each mapped to
// kvmm's name; only suggested where the verb has that option.
struct Alias {
  std::string_view typed;
  std::string_view option;
};
constexpr Alias kAliases[] = {
    // QEMU -m, cloud-hypervisor --memory, virt-install --memory/--ram, kvmtool -m.
    {"-m", "--mem"}, {"--memory", "--mem"}, {"--ram", "--mem"},
    // QEMU -smp, virt-install --vcpus, kvmtool -c.
    {"-smp", "--cpus"}, {"--smp", "--cpus"}, {"--vcpus", "--cpus"}, {"-c", "--cpus"},
    // cloud-hypervisor --initramfs, kvmtool -i.
    {"--initramfs", "--initrd"}, {"-initramfs", "--initrd"}, {"-i", "--initrd"},
    {"-k", "--kernel"},  // kvmtool.
    // The whole line: --kernel-cmdline, Firecracker's boot_args, kvmtool's
    // -p/--params (which add to its line, as --append does).
    {"--kernel-cmdline", "--cmdline"}, {"--boot-args", "--cmdline"}, {"--bootargs", "--cmdline"},
    {"--params", "--append"}, {"-p", "--append"},
    // QEMU -drive/-hda, kvmtool -d.
    {"-drive", "--disk"}, {"--drive", "--disk"}, {"-hda", "--disk"}, {"-d", "--disk"},
    // QEMU -netdev/-nic, kvmtool -n/--network, virt-install --network.
    {"-netdev", "--net"}, {"--netdev", "--net"}, {"-nic", "--net"}, {"--nic", "--net"},
    {"-n", "--net"}, {"--network", "--net"},
    {"--console", "--serial"},  // cloud-hypervisor.
    {"-daemonize", "--detach"}, {"--daemonize", "--detach"},  // QEMU.
};

// Optimal string alignment distance: insertions, deletions, substitutions
// and swaps of two neighbours ("--cpsu") each cost 1.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string_view without_dashes(std::string_view name) {
  while (name.starts_with('-')) name.remove_prefix(1);
  return name;
}

// Every refusal of a value is a usage error.
void call_setter(const std::function<void(std::string_view)>& set, std::string_view value) {
  try {
    set(value);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

}  // namespace

std::string_view suggest_option(const Verb& verb, std::string_view typed) {
  const auto has = [&verb](std::string_view name) {
    return std::any_of(verb.options.begin(), verb.options.end(),
                       [name](const Option& option) { return option.name == name; });
  };
  for (const Alias& alias : kAliases) {
    if (alias.typed == typed && has(alias.option)) return alias.option;
  }
  std::vector<std::string_view> names;
  for (const Option& option : verb.options) names.push_back(without_dashes(option.name));
  const std::string_view name = closest_word(without_dashes(typed), names);
  if (name.empty()) return {};
  // The option's own name: `name` points into it, after its dashes.
  for (const Option& option : verb.options) {
    if (without_dashes(option.name) == name) return option.name;
  }
  return {};
}

std::string_view closest_word(std::string_view typed, const std::vector<std::string_view>& words) {
  if (typed.empty()) return {};
  // Near enough to be a typo of it: a third of the word's letters at most
  // ("--cpu", "--kernal", "--initd"), and never a whole short word
  // ("--foo" is not "--mem").
  std::string_view best;
  size_t best_distance = 0;
  for (const std::string_view word : words) {
    const size_t distance = edit_distance(typed, word);
    if (distance * 3 > std::max(typed.size(), word.size())) continue;
    if (best.empty() || distance < best_distance) {
      best = word;
      best_distance = distance;
    }
  }
  return best;
}

ParseResult parse_options(const Verb& verb, std::span<const std::string_view> args) {
  ArgReader reader(verb.name, args);
  bool have_operand = false;
  while (!reader.done()) {
    if (reader.peek() == "-h") return ParseResult::kHelp;
    if (verb.set_operand && !have_operand && !reader.peek().starts_with("-")) {
      have_operand = true;
      const std::string_view operand = reader.peek();
      reader.skip();
      call_setter(verb.set_operand, operand);
      continue;
    }
    // One dash and a name: QEMU's spelling (-kernel, -m) or kvmtool's short
    // options (-c), never a kvmm option; named, with the one meant.
    if (const std::string_view arg = reader.peek();
        arg.size() > 1 && arg[0] == '-' && arg[1] != '-') {
      const std::string_view name = arg.substr(0, arg.find('='));
      reader.unknown(name, suggest_option(verb, name));
    }
    const std::string_view option_name = reader.next_option();
    if (option_name == "--help") return ParseResult::kHelp;
    const auto found = std::find_if(verb.options.begin(), verb.options.end(),
                                    [&](const Option& option) { return option.name == option_name; });
    if (found == verb.options.end()) reader.unknown(option_name, suggest_option(verb, option_name));
    const Option& option = *found;
    std::string_view value;
    switch (option.value) {
      case OptionValue::kNone: reader.no_value(option.name); break;
      case OptionValue::kRequired: value = reader.value(option.name); break;
      case OptionValue::kOptional:
        value = reader.optional_value().value_or(option.implicit_value);
        break;
    }
    call_setter(option.set, value);
  }
  if (verb.set_operand && !have_operand) {
    throw UsageError("kvmm " + std::string(verb.name) + " needs a " + std::string(verb.operand) +
                     ": see kvmm " + std::string(verb.name) + " --help");
  }
  return ParseResult::kParsed;
}

std::string format_verb_help(const Program& program, const Verb& verb) {
  std::string out;
  for (size_t i = 0; i < verb.usage.size(); ++i) {
    out += (i == 0 ? "Usage: " : "       ") + std::string(program.name) + " " +
           std::string(verb.usage[i]) + "\n";
  }
  out += "\n" + command_name(program.name, verb) + " - " + std::string(verb.summary) + "\n";
  append_verb_body(out, verb);
  append_entries(out, "Exit status", program.exit_statuses, &verb);
  append_entries(out, "Environment", program.environment, &verb);
  return out;
}

std::string format_program_help(const Program& program) {
  std::string out = std::string(program.name) + " - " + std::string(program.summary) + "\n\nUsage:\n";
  for (const Verb& verb : program.verbs) {
    for (const std::string_view usage : verb.usage) {
      out += "  " + std::string(program.name) + " " + std::string(usage) + "\n";
    }
  }
  for (const std::string_view usage : program.top.usage) {
    out += "  " + std::string(program.name) + " " + std::string(usage) + "\n";
  }
  out += "\n";
  append_wrapped(out, program.description, 0, 0);
  for (const Verb& verb : program.verbs) {
    out += "\n" + command_name(program.name, verb) + " - " + std::string(verb.summary) + "\n";
    append_verb_body(out, verb);
  }
  out += "\nOptions without a command:\n";
  append_options(out, program.top);
  append_entries(out, "Exit status", program.exit_statuses, nullptr);
  append_entries(out, "Environment", program.environment, nullptr);
  out += "\n`" + std::string(program.name) +
         " COMMAND --help` shows one command; the man page has it all.\n";
  return out;
}

std::string format_man_page(const Program& program, std::string_view version) {
  std::string upper(program.name);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
  std::string out = ".\\\" Generated by `" + std::string(program.name) +
                    " --man` from its option tables; do not edit.\n";
  out += ".TH " + upper + " 1 \"\" \"" + std::string(program.name) + " " + std::string(version) +
         "\" \"User Commands\"\n";
  out += ".SH NAME\n" + std::string(program.name) + " \\- " + roff(program.summary) + "\n";
  out += ".SH SYNOPSIS\n.nf\n";
  auto synopsis = [&](const Verb& verb) {
    for (const std::string_view usage : verb.usage) {
      out += "\\fB" + std::string(program.name) + "\\fR " + roff(usage) + "\n";
    }
  };
  for (const Verb& verb : program.verbs) synopsis(verb);
  synopsis(program.top);
  out += ".fi\n.SH DESCRIPTION\n" + roff(program.description) + "\n";
  out += ".SH OPTIONS\n";
  for (const Option* option : all_options(program.top)) append_man_option(out, *option);
  out += ".SH COMMANDS\n";
  for (const Verb& verb : program.verbs) {
    out += ".SS \"" + roff(command_name(program.name, verb)) + "\"\n" + roff(verb.summary) + "\n";
    if (!verb.description.empty()) out += ".PP\n" + roff(verb.description) + "\n";
    for (const Option* option : all_options(verb)) append_man_option(out, *option);
    for (const HelpSection& section : verb.sections) {
      out += ".PP\n\\fI" + roff(section.title) + ":\\fR\n" + roff(section.text) + "\n";
    }
  }
  append_man_entries(out, "EXIT STATUS", program.exit_statuses);
  append_man_entries(out, "ENVIRONMENT", program.environment);
  return out;
}

std::string format_bash_completion(const Program& program) {
  const std::string function = "_" + std::string(program.name);
  std::string out = "# bash completion for " + std::string(program.name) + ": generated by `" +
                    std::string(program.name) + " --completion bash` from its option tables.\n";
  out += function + "() {\n";
  out += "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n";
  out += "    local verb='' option='' word i words\n";
  out += "    for ((i = 1; i < COMP_CWORD; i++)); do\n";
  out += "        word=${COMP_WORDS[i]}\n";
  out += "        [[ $word == -* || $word == = ]] && break\n";
  out += "        verb=${verb:+$verb }$word\n";
  out += "    done\n";
  out += "    # --name=VALUE arrives as '--name' '=' 'VALUE' (COMP_WORDBREAKS has '=').\n";
  out += "    if [[ $cur == = ]]; then\n";
  out += "        option=\"$prev=\" cur=''\n";
  out += "    elif [[ $prev == = ]]; then\n";
  out += "        option=\"${COMP_WORDS[COMP_CWORD-2]}=\"\n";
  out += "    elif [[ $prev == --* ]]; then\n";
  out += "        option=\"$prev \"\n";
  out += "    fi\n";
  out += "    case \"$verb:$option\" in\n";
  auto value_cases = [&](const Verb& verb) {
    for (const Option* option : all_options(verb)) {
      if (option->value == OptionValue::kNone) continue;
      const std::string key = std::string(verb.name) + ":" + std::string(option->name);
      std::string pattern = "\"" + key + "=\"";
      if (option->value == OptionValue::kRequired) pattern += "|\"" + key + " \"";
      out += "        " + pattern + ")\n";
      switch (option->completion) {
        case Completion::kFile:
          out += "            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
          break;
        case Completion::kWords:
          out += "            mapfile -t COMPREPLY < <(compgen -W '" + words_of(option->words) +
                 "' -- \"$cur\")\n";
          break;
        case Completion::kNothing: out += "            COMPREPLY=()\n"; break;
      }
      out += "            return ;;\n";
    }
  };
  value_cases(program.top);
  for (const Verb& verb : program.verbs) value_cases(verb);
  out += "    esac\n";
  // Words after each verb prefix: "" -> run check bench + top options, "bench" -> exits sched.
  std::vector<std::pair<std::string, std::vector<std::string>>> prefixes;
  auto words_for = [&](const std::string& prefix) -> std::vector<std::string>& {
    for (auto& [name, list] : prefixes) {
      if (name == prefix) return list;
    }
    prefixes.emplace_back(prefix, std::vector<std::string>{});
    return prefixes.back().second;
  };
  auto add = [](std::vector<std::string>& list, const std::string& word) {
    if (std::find(list.begin(), list.end(), word) == list.end()) list.push_back(word);
  };
  for (const Option* option : all_options(program.top)) add(words_for(""), std::string(option->name));
  for (const Verb& verb : program.verbs) {
    std::string prefix;
    std::string_view rest = verb.name;
    for (;;) {
      const size_t space = rest.find(' ');
      const std::string word(rest.substr(0, space));
      add(words_for(prefix), word);
      prefix += (prefix.empty() ? "" : " ") + word;
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
    for (const Option* option : all_options(verb)) add(words_for(prefix), std::string(option->name));
  }
  out += "    case $verb in\n";
  for (const auto& [prefix, list] : prefixes) {
    std::string joined;
    for (const std::string& word : list) joined += (joined.empty() ? "" : " ") + word;
    if (std::find(list.begin(), list.end(), "--help") == list.end()) joined += " --help";
    out += "        '" + prefix + "') words='" + joined + "' ;;\n";
  }
  out += "        *) words='' ;;\n";
  out += "    esac\n";
  out += "    mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n";
  out += "}\n";
  out += "complete -F " + function + " " + std::string(program.name) + "\n";
  return out;
}

}  // namespace kvmm
