// loss.svg: training and evaluation loss by step as a self-contained SVG a browser opens
// (axes with round-number ticks, one polyline per series, a legend). Hand-written, no libraries.
// Not here: where the points come from (metrics_log.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tz::train {

struct PlotSeries {
  std::string name;
  std::string color;  // any SVG color, e.g. "#1f77b4"
  std::vector<std::pair<double, double>> points;  // (step, value)
};

/// The SVG document for the series (empty series are left out of the plot and the legend).
std::string loss_plot_svg(const std::vector<PlotSeries>& series, const std::string& title);

/// Reads metrics.jsonl and writes the "loss" and "eval_loss" series to `svg_path` (atomically).
void write_loss_plot(const std::string& metrics_jsonl, const std::string& svg_path, const std::string& title);

/// "Nice" tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
std::vector<double> nice_ticks(double lo, double hi, int approx_count = 6);

}  // namespace tz::train
