#include "app/options/config_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/util/error.h"

namespace kvmm {

namespace {

// ordered_json keeps the file's order, so options apply as written.
using Json = nlohmann::ordered_json;

std::string type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::null: return "null";
    default: return "a number";
  }
}

// What one list item or scalar stands for on the command line: a string as
// it is, a number in decimal (the option's setter judges it).
std::optional<std::string> argument_text(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

// The command-line arguments that `value` stands for under `option`.
// Throws Error saying which JSON types the option takes.
std::vector<std::string> arguments_for(const Option& option, const Json& value) {
  const std::string name(option.name);
  if (option.value == OptionValue::kNone) {
    if (!value.is_boolean()) {
      throw Error(name + " is a flag: give true or false, not " + type_name(value));
    }
    return value.get<bool>() ? std::vector<std::string>{name} : std::vector<std::string>{};
  }
  if (option.value == OptionValue::kOptional) {
    if (value.is_boolean()) {
      return value.get<bool>() ? std::vector<std::string>{name} : std::vector<std::string>{};
    }
    if (!value.is_string()) {
      throw Error(name + " takes true or a string (" + std::string(option.placeholder) +
                  "), not " + type_name(value));
    }
    return {name + "=" + value.get<std::string>()};
  }
  std::vector<std::string> args;
  auto add = [&](const Json& item, bool in_list) {
    const std::optional<std::string> text = argument_text(item);
    if (!text) {
      throw Error(name + " takes a string (" + std::string(option.placeholder) + ")" +
                  (option.repeatable ? " or a list of them" : "") + ", not " +
                  type_name(item) + (in_list ? " in the list" : ""));
    }
    args.push_back(name);
    args.push_back(*text);
  };
  if (value.is_array()) {
    if (!option.repeatable) {
      throw Error(name + " is given once: write one string (" + std::string(option.placeholder) +
                  "), not a list");
    }
    for (const Json& item : value) add(item, true);
  } else {
    add(value, false);
  }
  return args;
}

Json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    throw UsageError(file.string() + ": cannot read the config file: " + std::strerror(errno) +
                     ": give the path of a JSON file");
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return Json::parse(text.str());
  } catch (const Json::parse_error& e) {
    // what() is "[json.exception.parse_error.101] parse error at line L, column C: ...".
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (what.starts_with("[") && bracket != std::string::npos) what.erase(0, bracket + 2);
    throw UsageError(file.string() + ": not JSON: " + what);
  }
}

}  // namespace

void record_given_options(Verb& verb, GivenOptions& given) {
  for (Option& option : verb.options) {
    option.set = [&given, name = std::string(option.name), set = std::move(option.set)](
                     std::string_view value) {
      given.insert(name);
      set(value);
    };
  }
}

void apply_config_file(const Verb& verb, const std::filesystem::path& file,
                       const GivenOptions& given, std::string_view self) {
  const Json config = read_json(file);
  const std::string shown = file.string();
  if (!config.is_object()) {
    throw UsageError(shown + ": the config is " + type_name(config) +
                     ": write one object, e.g. {\"cpus\": 2, \"mem\": \"512M\"}");
  }
  for (const auto& [key, value] : config.items()) {
    const std::string where = shown + ": \"" + key + "\": ";
    const std::string name = "--" + key;
    const auto found = std::find_if(verb.options.begin(), verb.options.end(),
                                    [&](const Option& option) { return option.name == name; });
    if (name == self) {
      throw UsageError(where + "a config file cannot name another: give one --config");
    }
    if (found == verb.options.end()) {
      const std::string_view meant = suggest_option(verb, name);
      const std::string guess =
          meant.empty() ? "" : "did you mean \"" + std::string(meant.substr(2)) + "\"? ";
      throw UsageError(where + "unknown key: " + guess + "the keys are kvmm " + std::string(verb.name) +
                       "'s option names without --, see kvmm " + std::string(verb.name) +
                       " --help");
    }
    if (given.contains(name)) continue;  // The command line's value replaces it.
    try {
      const std::vector<std::string> args = arguments_for(*found, value);
      const std::vector<std::string_view> views(args.begin(), args.end());
      parse_options(verb, views);
    } catch (const Error& e) {
      throw UsageError(where + e.what());
    }
  }
}

}  // namespace kvmm
