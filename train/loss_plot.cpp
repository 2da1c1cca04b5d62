// SVG loss plot; see loss_plot.h.
#include "train/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "train/metrics_log.h"

namespace tz::train {

std::vector<double> nice_ticks(double lo, double hi, int approx_count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, approx_count);
  const int exponent = static_cast<int>(std::floor(std::log10(raw)));
  const double mag = std::pow(10.0, exponent);
  double mult = 10;
  for (double m : {1.0, 2.0, 5.0})
    if (m * mag >= raw) {
      mult = m;
      break;
    }
  // Tick k is k * mult * 10^exponent; dividing by 10^-exponent (an exact integer) instead of
  // multiplying by 0.1 keeps values like 0.3 exact rather than 0.30000000000000004.
  auto value = [&](int64_t k) {
    double km = static_cast<double>(k) * mult;
    return exponent < 0 ? km / std::pow(10.0, -exponent) : km * mag;
  };
  const double step = mult * mag;
  std::vector<double> ticks;
  for (auto k = static_cast<int64_t>(std::ceil(lo / step - 1e-9)); value(k) <= hi + step * 1e-9; ++k)
    ticks.push_back(value(k));
  return ticks;
}

namespace {
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}
}  // namespace

std::string loss_plot_svg(const std::vector<PlotSeries>& series, const std::string& title) {
  const double W = 720, H = 440, left = 70, right = 20, top = 40, bottom = 50;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // nothing to plot: empty axes
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y0 -= 0.5, y1 += 0.5;
  double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (W - left - right); };
  auto py = [&](double y) { return H - bottom - (y - y0) / (y1 - y0) * (H - top - bottom); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << escape(title) << "</text>\n";
  // Grid and tick labels.
  for (double t : nice_ticks(x0, x1)) {
    o << "<line x1=\"" << px(t) << "\" y1=\"" << top << "\" x2=\"" << px(t) << "\" y2=\"" << H - bottom
      << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<text x=\"" << px(t) << "\" y=\"" << H - bottom + 16 << "\" text-anchor=\"middle\">" << fmt(t) << "</text>\n";
  }
  for (double t : nice_ticks(y0, y1)) {
    o << "<line x1=\"" << left << "\" y1=\"" << py(t) << "\" x2=\"" << W - right << "\" y2=\"" << py(t)
      << "\" stroke=\"#e5e5e5\"/>\n";
    o << "<text x=\"" << left - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">" << fmt(t) << "</text>\n";
  }
  // Axes.
  o << "<line x1=\"" << left << "\" y1=\"" << H - bottom << "\" x2=\"" << W - right << "\" y2=\"" << H - bottom
    << "\" stroke=\"black\"/>\n";
  o << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << H - bottom
    << "\" stroke=\"black\"/>\n";
  o << "<text x=\"" << (left + W - right) / 2 << "\" y=\"" << H - 12 << "\" text-anchor=\"middle\">step</text>\n";
  o << "<text transform=\"translate(18," << (top + H - bottom) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">loss</text>\n";
  // Series and legend.
  int row = 0;
  for (const auto& s : series) {
    if (s.points.empty()) continue;
    o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
    for (auto [x, y] : s.points)
      if (std::isfinite(y)) o << px(x) << "," << py(y) << " ";
    o << "\"/>\n";
    if (s.points.size() == 1)  // a single point is invisible as a line
      o << "<circle cx=\"" << px(s.points[0].first) << "\" cy=\"" << py(s.points[0].second) << "\" r=\"3\" fill=\""
        << s.color << "\"/>\n";
    double ly = top + 12 + 18 * row++;
    o << "<line x1=\"" << W - right - 130 << "\" y1=\"" << ly << "\" x2=\"" << W - right - 105 << "\" y2=\"" << ly
      << "\" stroke=\"" << s.color << "\" stroke-width=\"2\"/>\n";
    o << "<text x=\"" << W - right - 100 << "\" y=\"" << ly + 4 << "\">" << escape(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

void write_loss_plot(const std::string& metrics_jsonl, const std::string& svg_path, const std::string& title) {
  PlotSeries train{"training loss", "#1f77b4", {}}, eval{"eval loss", "#d62728", {}};
  for (const auto& r : read_metrics_log(metrics_jsonl)) {
    if (!r.contains("step")) continue;
    double step = r["step"].get<double>();
    if (r.contains("loss") && r["loss"].is_number()) train.points.emplace_back(step, r["loss"].get<double>());
    if (r.contains("eval_loss") && r["eval_loss"].is_number()) eval.points.emplace_back(step, r["eval_loss"].get<double>());
  }
  std::string tmp = svg_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    TZ_CHECK(out.good(), "loss plot: cannot write '", tmp, "'");
    out << loss_plot_svg({train, eval}, title);
    TZ_CHECK(out.good(), "loss plot: write to '", tmp, "' failed");
  }
  std::filesystem::rename(tmp, svg_path);
}

}  // namespace tz::train
