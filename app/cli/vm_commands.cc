#include "app/cli/vm_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/api/api_client.h"
#include "app/api/run_dir.h"
#include "app/cli/console_command.h"
#include "base/util/error.h"

namespace kvmm {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How often a client looks whether the VM's process has ended.
constexpr std::chrono::milliseconds kEndPoll{100};
// How long destroy waits for the process to end after vm.power-off.
constexpr std::chrono::seconds kDestroyWait{30};

json parse_body(const ApiReply& reply, std::string_view endpoint) {
  json body = json::parse(reply.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    throw Error(std::string(endpoint) + " answered with a body that is not a JSON object: is the "
                "socket a kvmm VM's?");
  }
  return body;
}

json get_json(const std::filesystem::path& socket, std::string_view endpoint) {
  const ApiReply reply = api_call(socket, "GET", endpoint);
  if (reply.status != 200) throw Error(reply_error(reply));
  return parse_body(reply, endpoint);
}

void put(const std::filesystem::path& socket, std::string_view endpoint) {
  const ApiReply reply = api_call(socket, "PUT", endpoint);
  if (reply.status != 204 && reply.status != 200) throw Error(reply_error(reply));
}

// Waits until the VM's process has ended (its socket is gone or dead).
bool wait_for_end(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
  const Clock::time_point until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (!api_socket_alive(socket)) return true;
    std::this_thread::sleep_for(kEndPoll);
  }
  return !api_socket_alive(socket);
}

std::string format_uptime(double seconds) {
  const auto total = static_cast<uint64_t>(seconds);
  char text[32];
  if (total >= 86400) {
    std::snprintf(text, sizeof text, "%lud %02lu:%02lu:%02lu", total / 86400, total / 3600 % 24,
                  total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%02lu:%02lu:%02lu", total / 3600, total / 60 % 60, total % 60);
  }
  return text;
}

template <typename T>
T value_or(const json& object, const char* key, T fallback) {
  if (!object.is_object() || !object.contains(key)) return fallback;
  try {
    return object.at(key).get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

int list(const ManageCommand& command, std::ostream& out) {
  json rows = json::array();
  for (const std::filesystem::path& socket : running_vm_sockets()) {
    json info;
    try {
      info = get_json(socket, "vm.info");
    } catch (const Error&) {
      continue;  // A VM that ended meanwhile, or a stale socket of one that died.
    }
    const json& config = info.contains("config") ? info["config"] : json::object();
    rows.push_back({{"name", value_or<std::string>(info, "name", socket.stem().string())},
                    {"pid", value_or<int64_t>(info, "pid", 0)},
                    {"state", value_or<std::string>(info, "state", "?")},
                    {"vcpus", value_or<int64_t>(config, "cpus", 0)},
                    {"memory", value_or<std::string>(config, "mem", "?")},
                    {"uptime_s", value_or<double>(info, "uptime_s", 0)},
                    {"api_socket", socket.string()}});
  }
  if (command.json) {
    out << rows.dump(2) << '\n';
    return 0;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %8s %-9s %5s %8s %12s\n", "NAME", "PID", "STATE",
                "VCPUS", "MEMORY", "UPTIME");
  out << line;
  for (const json& row : rows) {
    std::snprintf(line, sizeof line, "%-20s %8ld %-9s %5ld %8s %12s\n",
                  row["name"].get<std::string>().c_str(), row["pid"].get<int64_t>(),
                  row["state"].get<std::string>().c_str(), row["vcpus"].get<int64_t>(),
                  row["memory"].get<std::string>().c_str(),
                  format_uptime(row["uptime_s"].get<double>()).c_str());
    out << line;
  }
  return 0;
}

int info(const ManageCommand& command, const std::filesystem::path& socket, std::ostream& out) {
  const ApiReply reply = api_call(socket, "GET", "vm.info");
  if (reply.status != 200) throw Error(reply_error(reply));
  if (command.json) {
    out << reply.body;
    return 0;
  }
  if (command.config) {
    // ordered_json keeps the VM's order of keys: the file reads like the
    // command line that made the VM.
    const nlohmann::ordered_json body = nlohmann::ordered_json::parse(reply.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("config") ||
        !body["config"].is_object()) {
      throw Error("vm.info answered without a config object: is the socket a kvmm VM's?");
    }
    out << body["config"].dump(2) << '\n';
    return 0;
  }
  const json info = parse_body(reply, "vm.info");
  const json config = info.value("config", json::object());
  const auto field = [&out](const char* name, const std::string& value) {
    char line[512];
    std::snprintf(line, sizeof line, "%-15s%s\n", name, value.c_str());
    out << line;
  };
  field("Name:", value_or<std::string>(info, "name", "?"));
  field("PID:", std::to_string(value_or<int64_t>(info, "pid", 0)));
  field("State:", value_or<std::string>(info, "state", "?"));
  field("Uptime:", format_uptime(value_or<double>(info, "uptime_s", 0)));
  field("vCPUs:", std::to_string(value_or<int64_t>(config, "cpus", 0)));
  field("Memory:", value_or<std::string>(config, "mem", "?"));
  if (config.contains("kernel")) field("Kernel:", value_or<std::string>(config, "kernel", ""));
  if (config.contains("flat")) field("Flat image:", value_or<std::string>(config, "flat", ""));
  field("API socket:", value_or<std::string>(info, "api_socket", socket.string()));
  out << "\nVCPU      TID  CPU  AFFINITY         POLICY\n";
  for (const json& vcpu : info.value("vcpus", json::array())) {
    std::string affinity;
    for (const json& cpu : vcpu.value("affinity", json::array())) {
      if (!affinity.empty()) affinity += ',';
      affinity += std::to_string(cpu.is_number_integer() ? cpu.get<int64_t>() : -1);
    }
    const json& last = vcpu.contains("last_cpu") ? vcpu["last_cpu"] : json();
    char line[256];
    std::snprintf(line, sizeof line, "%4ld %8ld %4s  %-16s %s\n", value_or<int64_t>(vcpu, "vcpu", 0),
                  value_or<int64_t>(vcpu, "tid", 0),
                  last.is_number_integer() ? std::to_string(last.get<int64_t>()).c_str() : "-",
                  affinity.c_str(), value_or<std::string>(vcpu, "policy", "?").c_str());
    out << line;
  }
  return 0;
}

// One sample of vm.counters: per vCPU, the counters stats prints.
struct Sample {
  Clock::time_point at;
  std::vector<std::map<std::string, double>> vcpus;
};

// The kernel's exit counters by reason, then the thread's times.
constexpr const char* kKernelColumns[] = {"exits", "io_exits", "mmio_exits", "halt_exits",
                                          "irq_exits", "signal_exits"};

Sample take_sample(const std::filesystem::path& socket) {
  const json counters = get_json(socket, "vm.counters");
  Sample sample{Clock::now(), {}};
  for (const json& vcpu : counters.value("vcpus", json::array())) {
    std::map<std::string, double> values;
    values["vcpu"] = value_or<double>(vcpu, "vcpu", 0);
    const json kernel = vcpu.value("kernel_stats", json::object());
    const json kernel_counters = kernel.value("counters", json::object());
    for (const char* name : kKernelColumns) {
      values[name] = value_or<double>(kernel_counters, name, NAN);
    }
    values["guest_time_ns"] = value_or<double>(vcpu, "guest_time_ns", NAN);
    values["run_delay_ns"] = value_or<double>(vcpu, "run_delay_ns", NAN);
    sample.vcpus.push_back(std::move(values));
  }
  return sample;
}

void print_sample(const Sample& now, const Sample* before, std::ostream& out) {
  const double seconds =
      before == nullptr ? 1.0 : std::chrono::duration<double>(now.at - before->at).count();
  char line[256];
  std::snprintf(line, sizeof line, "%4s %10s %10s %10s %10s %10s %10s %8s %8s\n", "VCPU",
                before ? "EXITS/s" : "EXITS", before ? "IO/s" : "IO", before ? "MMIO/s" : "MMIO",
                before ? "HLT/s" : "HLT", before ? "IRQ/s" : "IRQ", before ? "SIGNAL/s" : "SIGNAL",
                before ? "GUEST%" : "GUEST_s", before ? "DELAY%" : "DELAY_s");
  out << line;
  for (size_t i = 0; i < now.vcpus.size(); ++i) {
    const auto& values = now.vcpus[i];
    const auto* old = before != nullptr && i < before->vcpus.size() ? &before->vcpus[i] : nullptr;
    const auto rate = [&](const char* key) {
      const double value = values.at(key);
      return old == nullptr ? value : (value - old->at(key)) / seconds;
    };
    const auto time_column = [&](const char* key) {
      const double value = values.at(key);
      // Totals in seconds; rates as the share of the interval.
      return old == nullptr ? value / 1e9 : (value - old->at(key)) / 1e9 / seconds * 100.0;
    };
    const auto number = [](double value, int decimals) {
      if (std::isnan(value)) return std::string("-");
      char text[32];
      std::snprintf(text, sizeof text, "%.*f", decimals, value);
      return std::string(text);
    };
    std::snprintf(line, sizeof line, "%4.0f %10s %10s %10s %10s %10s %10s %8s %8s\n",
                  values.at("vcpu"), number(rate("exits"), 0).c_str(),
                  number(rate("io_exits"), 0).c_str(), number(rate("mmio_exits"), 0).c_str(),
                  number(rate("halt_exits"), 0).c_str(), number(rate("irq_exits"), 0).c_str(),
                  number(rate("signal_exits"), 0).c_str(),
                  number(time_column("guest_time_ns"), 1).c_str(),
                  number(time_column("run_delay_ns"), 1).c_str());
    out << line;
  }
}

int stats(const ManageCommand& command, const std::filesystem::path& socket, std::ostream& out) {
  if (!command.watch_s) {
    if (command.json) {
      const ApiReply reply = api_call(socket, "GET", "vm.counters");
      if (reply.status != 200) throw Error(reply_error(reply));
      out << reply.body;
      return 0;
    }
    print_sample(take_sample(socket), nullptr, out);
    return 0;
  }
  const auto interval = std::chrono::duration<double>(*command.watch_s);
  Sample before = take_sample(socket);
  for (uint32_t n = 0; !command.count || n < *command.count; ++n) {
    std::this_thread::sleep_for(interval);
    Sample now;
    try {
      now = take_sample(socket);
    } catch (const Error&) {
      if (!api_socket_alive(socket)) {
        out << "VM '" << command.name << "' has ended\n";
        return 0;
      }
      throw;
    }
    if (command.json) {
      json rates = json::array();
      for (size_t i = 0; i < now.vcpus.size() && i < before.vcpus.size(); ++i) {
        json vcpu = json::object();
        const double seconds = std::chrono::duration<double>(now.at - before.at).count();
        for (const auto& [key, value] : now.vcpus[i]) {
          if (key == "vcpu") {
            vcpu[key] = value;
          } else if (!std::isnan(value)) {
            vcpu[key + "_per_s"] = (value - before.vcpus[i].at(key)) / seconds;
          }
        }
        rates.push_back(vcpu);
      }
      out << json{{"interval_s", *command.watch_s}, {"vcpus", rates}}.dump() << '\n';
    } else {
      const std::time_t wall = std::time(nullptr);
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&wall));
      out << "\n" << stamp << "  " << command.name << "  (per second over " << *command.watch_s
          << " s)\n";
      print_sample(now, &before, out);
    }
    out.flush();
    before = std::move(now);
  }
  return 0;
}

}  // namespace

int run_manage_command(const ManageCommand& command, std::ostream& out) {
  if (command.action == ManageCommand::Action::kList) return list(command, out);
  const std::filesystem::path socket = socket_path_for(command.name);
  switch (command.action) {
    case ManageCommand::Action::kList: break;
    case ManageCommand::Action::kInfo: return info(command, socket, out);
    case ManageCommand::Action::kStats: return stats(command, socket, out);
    case ManageCommand::Action::kConsole: return attach_console(command.name);
    case ManageCommand::Action::kPause:
      put(socket, "vm.pause");
      out << "VM '" << command.name << "' paused\n";
      return 0;
    case ManageCommand::Action::kResume:
      put(socket, "vm.resume");
      out << "VM '" << command.name << "' resumed\n";
      return 0;
    case ManageCommand::Action::kDestroy:
      put(socket, "vm.power-off");
      if (!wait_for_end(socket, kDestroyWait)) {
        throw Error("VM '" + command.name + "' was told to power off but is still running after " +
                    std::to_string(kDestroyWait.count()) + " s: kill its process (kvmm info " +
                    command.name + " shows the PID)");
      }
      out << "VM '" << command.name << "' destroyed\n";
      return 0;
    case ManageCommand::Action::kShutdown: {
      put(socket, "vm.shutdown");
      if (wait_for_end(socket, std::chrono::seconds(command.timeout_s))) {
        out << "VM '" << command.name << "' shut down\n";
        return 0;
      }
      put(socket, "vm.power-off");
      if (!wait_for_end(socket, kDestroyWait)) {
        throw Error("VM '" + command.name + "' did not shut down and is still running after "
                    "vm.power-off: kill its process (kvmm info " + command.name + " shows the PID)");
      }
      out << "VM '" << command.name << "' did not shut down within " << command.timeout_s
          << " s: destroyed\n";
      return 0;
    }
  }
  return 0;
}

}  // namespace kvmm
