// Every option the parser accepts is documented: in `kvmm VERB --help`,
// `kvmm --help`, the man page and bash completion, all made from the same
// tables (app/options/option_table.h, app/cli/options.cc).
#include "app/options/option_table.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "app/cli/options.h"
#include "base/util/error.h"
#include "base/util/parse.h"

using namespace kvmm;

namespace {

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> words;
  for (const std::string_view word : split(text, ' ')) {
    if (!word.empty()) words.push_back(word);
  }
  return words;
}

// The error parse_command_line gives for `args`, or "" when it parses.
std::string refusal(std::vector<std::string_view> args) {
  try {
    parse_command_line(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

// `word` stands alone in one of the completion's word lists: 'a b c'.
bool has_word(const std::string& completion, std::string_view word) {
  for (size_t at = completion.find(word); at != std::string::npos; at = completion.find(word, at + 1)) {
    const char before = at == 0 ? ' ' : completion[at - 1];
    const char after = at + word.size() < completion.size() ? completion[at + word.size()] : ' ';
    if ((before == ' ' || before == '\'') && (after == ' ' || after == '\'')) return true;
  }
  return false;
}

// The man page's spelling of a name: roff escapes each '-'.
std::string roff_name(std::string_view name) {
  std::string out;
  for (const char c : name) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

}  // namespace

TEST_CASE("the parser accepts exactly the options each verb's table declares") {
  const Program& program = kvmm_program();
  for (const Verb& verb : program.verbs) {
    INFO("kvmm " << verb.name);
    std::vector<std::string_view> args = words_of(verb.name);
    const size_t verb_words = args.size();
    for (const Option& option : verb.options) {
      INFO(option.name);
      args.resize(verb_words);
      args.push_back(option.name);
      if (option.value == OptionValue::kRequired) args.push_back("x");
      // It may refuse the value or a missing guest, never the option itself.
      CHECK(refusal(args).find("unknown option") == std::string::npos);
    }
    args.resize(verb_words);
    args.push_back("--no-such-option");
    CHECK(refusal(args).find("unknown option --no-such-option: see kvmm " +
                             std::string(verb.name) + " --help") != std::string::npos);
  }
}

TEST_CASE("an unknown option names the one meant: other VMMs' names, one dash, typos") {
  const auto refused = [](std::vector<std::string_view> args) {
    args.insert(args.begin(), {"run", "--kernel", "bzImage"});
    return refusal(args);
  };
  const auto meant = [](std::string_view typed, std::string_view option) {
    return "kvmm run: unknown option " + std::string(typed) + ": did you mean " +
           std::string(option) + "? see kvmm run --help";
  };
  CHECK(refused({"--memory", "1G"}) == meant("--memory", "--mem"));
  CHECK(refused({"-m", "1G"}) == meant("-m", "--mem"));
  CHECK(refused({"-m=1G"}) == meant("-m", "--mem"));
  CHECK(refused({"--smp", "2"}) == meant("--smp", "--cpus"));
  CHECK(refused({"-smp", "2"}) == meant("-smp", "--cpus"));
  CHECK(refused({"--initramfs", "i"}) == meant("--initramfs", "--initrd"));
  CHECK(refused({"-kernel", "k"}) == meant("-kernel", "--kernel"));
  CHECK(refused({"-append", "quiet"}) == meant("-append", "--append"));
  CHECK(refused({"--kernel-cmdline", "quiet"}) == meant("--kernel-cmdline", "--cmdline"));
  CHECK(refused({"--params", "quiet"}) == meant("--params", "--append"));
  CHECK(refused({"-drive", "file=d.img"}) == meant("-drive", "--disk"));
  CHECK(refused({"--network", "tap=t"}) == meant("--network", "--net"));
  CHECK(refused({"--cpu", "2"}) == meant("--cpu", "--cpus"));
  CHECK(refused({"--cpsu", "2"}) == meant("--cpsu", "--cpus"));
  CHECK(refused({"--kernal", "k"}) == meant("--kernal", "--kernel"));
  CHECK(refused({"--initd", "i"}) == meant("--initd", "--initrd"));
  CHECK(refused({"--boot-trac"}) == meant("--boot-trac", "--boot-trace"));
  // Nothing close: no guess.
  CHECK(refused({"--turbo"}) == "kvmm run: unknown option --turbo: see kvmm run --help");
  CHECK(refused({"--foo"}) == "kvmm run: unknown option --foo: see kvmm run --help");
  CHECK(refused({"-z"}) == "kvmm run: unknown option -z: see kvmm run --help");
  // An alias is only offered where the verb has its option: kvmm check has no --mem.
  CHECK(refusal({"check", "--memory"}) == "kvmm check: unknown option --memory: see kvmm check --help");
  CHECK(refusal({"bench", "sched", "--smp", "2"}) ==
        "kvmm bench sched: unknown option --smp: did you mean --cpus? see kvmm bench sched --help");
}

TEST_CASE("every option is in its verb's --help, kvmm --help, the man page and completion") {
  const Program& program = kvmm_program();
  const std::string all_help = format_program_help(program);
  const std::string man = format_man_page(program, "test");
  const std::string completion = format_bash_completion(program);
  std::vector<const Verb*> verbs = {&program.top};
  for (const Verb& verb : program.verbs) verbs.push_back(&verb);
  for (const Verb* verb : verbs) {
    INFO("kvmm " << verb->name);
    const std::string help = verb->name.empty() ? all_help : format_verb_help(program, *verb);
    std::vector<std::string_view> names = {"--help"};
    for (const Option& option : verb->options) names.push_back(option.name);
    for (const std::string_view name : names) {
      INFO(name);
      CHECK(help.find("  " + std::string(name)) != std::string::npos);
      CHECK(all_help.find("  " + std::string(name)) != std::string::npos);
      CHECK(man.find("\\fB" + roff_name(name) + "\\fR") != std::string::npos);
      CHECK(has_word(completion, name));
    }
    for (const Option& option : verb->options) {
      for (const std::string_view word : option.words) CHECK(has_word(completion, word));
    }
    // Every option a synopsis line names is in the table.
    for (const std::string_view usage : verb->usage) {
      for (std::string_view word : words_of(usage)) {
        while (word.starts_with("[") || word.starts_with("|")) word.remove_prefix(1);
        if (!word.starts_with("--")) continue;
        word = word.substr(0, word.find_first_of("]|="));
        INFO(usage);
        CHECK((word == "--help" || help.find("  " + std::string(word)) != std::string::npos));
      }
    }
  }
}

TEST_CASE("the help names the sub-options, exit statuses and environment") {
  const Program& program = kvmm_program();
  const std::string run_help = format_verb_help(program, program.verbs[0]);
  for (const char* text : {"--disk PATH[,ro][,serial=S][,cache=none|writeback]",
                           "tap=NAME|fd=N|user[,mac=MAC][,...]", "offload=off", "vhost=on",
                           "hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
                           "KVMM_BLOCK_IO", "KVMM_KVM_DEVICE", "Exit status:", "\n  3 ",
                           "\n  4 ", "debug-exit"}) {
    INFO(text);
    CHECK(run_help.find(text) != std::string::npos);
  }
  const std::string all_help = format_program_help(program);
  const std::string man = format_man_page(program, "test");
  for (const char* text : {"KVMM_GUEST_DIR", "KVMM_BLOCK_IO", "KVMM_KVM_DEVICE", "128+N"}) {
    INFO(text);
    CHECK(all_help.find(text) != std::string::npos);
    CHECK(man.find(text) != std::string::npos);
  }
}

TEST_CASE("--help of each verb asks for help, whatever precedes it") {
  CHECK(std::holds_alternative<HelpCommand>(parse_command_line(std::vector<std::string_view>{
      "run", "--help"})));
  CHECK(std::holds_alternative<HelpCommand>(parse_command_line(std::vector<std::string_view>{
      "bench", "sched", "--cpus", "4", "--help"})));
  const auto help = std::get<HelpCommand>(
      parse_command_line(std::vector<std::string_view>{"bench", "exits", "--help"}));
  CHECK(help.text.rfind("Usage: kvmm bench exits", 0) == 0);
}

TEST_CASE("every refusal of the command line is a UsageError") {
  CHECK_THROWS_AS(parse_command_line(std::vector<std::string_view>{"run"}), UsageError);
  CHECK_THROWS_AS(parse_command_line(std::vector<std::string_view>{"run", "--flat", "g", "--disk",
                                                                   "d,bogus"}),
                  UsageError);
  CHECK_THROWS_AS(parse_command_line(std::vector<std::string_view>{"run", "--flat", "g",
                                                                   "--vcpu-sched", "fifo:0"}),
                  UsageError);
  CHECK_THROWS_AS(parse_command_line(std::vector<std::string_view>{"--completion", "zsh"}),
                  UsageError);
  CHECK_THROWS_AS(parse_command_line(std::vector<std::string_view>{"--frobnicate"}), UsageError);
}
