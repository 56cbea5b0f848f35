#include "app/bench/gnuplot_plot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "app/bench/report_writer.h"
#include "base/util/error.h"
#include "base/util/unique_fd.h"

extern char** environ;

namespace kvmm {

namespace {

constexpr int kColumns = 3;
constexpr double kYFloor = 0.01;  // % of samples: the bottom of the log y axis

// A gnuplot single-quoted string: only the quote itself needs doubling.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace

PlotFormat plot_format_of(const std::string& path) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".svg") return PlotFormat::kSvg;
  if (extension == ".png") return PlotFormat::kPng;
  throw Error("--plot " + path + ": the image must be .svg or .png (gnuplot draws those): "
              "give e.g. --plot exits.svg");
}

void require_gnuplot() {
  if (!on_path("gnuplot")) {
    throw Error("--plot needs gnuplot, which is not installed: apt-get install gnuplot-nox "
                "(or leave out --plot)");
  }
}

std::string histogram_data(const std::vector<HistogramPanel>& panels) {
  std::string out;
  char line[160];
  for (const HistogramPanel& panel : panels) {
    uint64_t total = 0;
    for (const LogBin& bin : panel.bins) total += bin.count;
    out += "# " + panel.title + ": low high count percent\n";
    for (const LogBin& bin : panel.bins) {
      const double percent = total == 0 ? 0 : 100.0 * static_cast<double>(bin.count) /
                                                  static_cast<double>(total);
      std::snprintf(line, sizeof line, "%.6g %.6g %llu %.6g\n", bin.low, bin.high,
                    static_cast<unsigned long long>(bin.count), percent);
      out += line;
    }
    if (panel.bins.empty()) out += "1 1 0 0\n";  // gnuplot refuses an empty block
    out += "\n\n";                                 // blocks are gnuplot "index" 0, 1, ...
  }
  return out;
}

std::string histogram_script(const std::string& image_path, PlotFormat format,
                             const std::string& data_path, const std::string& title,
                             const std::string& x_label, const std::vector<HistogramPanel>& panels) {
  // One x range for every panel, so kinds compare at a glance.
  double low = 0, high = 0;
  for (const HistogramPanel& panel : panels) {
    for (const LogBin& bin : panel.bins) {
      if (bin.count == 0) continue;
      low = low == 0 ? bin.low : std::min(low, bin.low);
      high = std::max(high, bin.high);
    }
  }
  const int rows = std::max<int>(1, (static_cast<int>(panels.size()) + kColumns - 1) / kColumns);
  std::ostringstream s;
  s << "# Drawn by kvmm; redraw with: gnuplot " << quoted(image_path + ".gp") << "\n";
  if (format == PlotFormat::kSvg) {
    s << "set terminal svg size 1200," << 260 * rows << " dynamic font 'sans,10' noenhanced\n";
  } else {
    s << "set terminal pngcairo size 1200," << 260 * rows << " font 'sans,9' noenhanced\n";
  }
  s << "set output " << quoted(image_path) << "\n"
    << "set multiplot layout " << rows << "," << kColumns << " title " << quoted(title) << "\n"
    // Log scale both ways: x spans the fast path and the tails; on y a
    // 0.01 % tail bin is as visible as the 99 % peak.
    << "set logscale xy 10\n"
    << "set format x '%g'\n"
    << "set format y '%g'\n"
    << "set xlabel " << quoted(x_label) << "\n"
    << "set ylabel '% of samples'\n"
    << "set yrange [" << kYFloor << ":100]\n"
    << "set grid xtics ytics\n"
    << "set style fill solid 0.6 border -1\n";
  if (low > 0 && high > low) s << "set xrange [" << low << ":" << high << "]\n";
  s << "set mxtics 10\n"
    << "unset key\n";
  for (size_t i = 0; i < panels.size(); ++i) {
    s << "set title " << quoted(panels[i].title) << "\n"
      << "plot " << quoted(data_path) << " index " << i
      << " using (sqrt($1*$2)):4:1:2:(" << kYFloor << "):4 with boxxyerror lc " << (i % 8) + 1 << "\n";
  }
  s << "unset multiplot\n";
  return s.str();
}

void plot_histograms(const std::string& image_path, const std::string& title,
                     const std::string& x_label, const std::vector<HistogramPanel>& panels) {
  const PlotFormat format = plot_format_of(image_path);
  require_gnuplot();
  const std::string data_path = image_path + ".dat";
  const std::string script_path = image_path + ".gp";
  write_output_file(data_path, histogram_data(panels), "plot data");
  write_output_file(script_path,
                    histogram_script(image_path, format, data_path, title, x_label, panels),
                    "plot script");
  check_output_writable(image_path, "plot");

  // gnuplot's stderr comes back through a pipe so its complaint can be shown.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) < 0) throw_errno("pipe failed");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::string program = "gnuplot";
  std::string script_arg = script_path;
  char* argv[] = {program.data(), script_arg.data(), nullptr};
  pid_t pid = 0;
  const int spawn_error = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (spawn_error != 0) {
    throw_errno("cannot start gnuplot (apt-get install gnuplot-nox, or leave out --plot)",
                spawn_error);
  }
  std::string errors;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n > 0) {
      if (errors.size() < 4096) errors.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::error_code error;
  const bool drawn = std::filesystem::file_size(image_path, error) > 0 && !error;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !drawn) {
    for (char& c : errors) {
      if (c == '\n') c = ' ';
    }
    throw Error("gnuplot could not draw " + image_path + " (script " + script_path +
                "): " + (errors.empty() ? std::string("no message") : errors));
  }
}

}  // namespace kvmm
