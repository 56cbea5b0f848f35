#pragma once
// --plot for every `kvmm bench`: latency histograms drawn by gnuplot
// (Debian gnuplot-nox). kvmm writes a data file and a script next to the
// image (IMAGE.dat, IMAGE.gp, kept so a plot can be restyled and redrawn
// with `gnuplot IMAGE.gp`) and runs gnuplot on them.
#include <string>
#include <vector>

#include "app/bench/percentiles.h"

namespace kvmm {

enum class PlotFormat { kSvg, kPng };

// From the image file name's extension; throws Error unless .svg or .png.
PlotFormat plot_format_of(const std::string& path);

// Throws Error with the fix when gnuplot is not on PATH: checked before a
// benchmark starts, so nobody waits for a run whose plot cannot be drawn.
void require_gnuplot();

struct HistogramPanel {
  std::string title;
  std::vector<LogBin> bins;  // x in the unit of x_label
};

// One panel per entry, three to a row, a shared log-scale x, y the share of
// samples (log scale, from 0.01 %).
// Throws Error when a file cannot be written or gnuplot fails (its stderr
// is shown).
void plot_histograms(const std::string& image_path, const std::string& title,
                     const std::string& x_label, const std::vector<HistogramPanel>& panels);

// The script, separately for unit tests.
std::string histogram_script(const std::string& image_path, PlotFormat format,
                             const std::string& data_path, const std::string& title,
                             const std::string& x_label, const std::vector<HistogramPanel>& panels);
std::string histogram_data(const std::vector<HistogramPanel>& panels);

}  // namespace kvmm
