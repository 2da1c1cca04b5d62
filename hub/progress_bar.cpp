// The download progress bar (see progress_bar.h). Uses '\r' to redraw in place, so it is only
// drawn on a terminal; logs and pipes get no bar at all.
#include "hub/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tz::hub {

std::string format_size(int64_t bytes) {
  const char* units[] = {"B", "K", "M", "G", "T", "P"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (std::fabs(v) >= 1000.0 && u < 5) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lldB", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f%s", v, units[u]);
  return buf;
}

std::string format_progress_line(const std::string& label, int64_t done, int64_t total, double rate) {
  constexpr size_t kLabelWidth = 28;
  constexpr int kBarWidth = 20;
  std::string line;
  if (label.size() > kLabelWidth) line.append("...").append(label, label.size() - (kLabelWidth - 3));
  else line = label;
  line.resize(kLabelWidth, ' ');
  line.append(" ").append(format_size(done));
  if (total >= 0) {
    line.append("/").append(format_size(total));
    const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
    const int filled = static_cast<int>(fraction * kBarWidth);
    char pct[16];
    std::snprintf(pct, sizeof pct, " %3d%% ", static_cast<int>(fraction * 100.0));
    line += pct;
    line.append("[").append(filled, '#').append(kBarWidth - filled, '.').append("]");
  }
  if (rate > 0) {
    line.append(" ").append(format_size(static_cast<int64_t>(rate))).append("/s");
    if (total >= done) {
      const int64_t eta = static_cast<int64_t>(std::ceil(static_cast<double>(total - done) / rate));
      char buf[32];
      if (eta >= 3600) std::snprintf(buf, sizeof buf, " ETA %lld:%02lld:%02lld", static_cast<long long>(eta / 3600),
                                     static_cast<long long>(eta / 60 % 60), static_cast<long long>(eta % 60));
      else std::snprintf(buf, sizeof buf, " ETA %lld:%02lld", static_cast<long long>(eta / 60), static_cast<long long>(eta % 60));
      line += buf;
    }
  }
  return line;
}

ProgressBar::ProgressBar(std::string label, int64_t total, int64_t initial, bool enabled)
    : label_(std::move(label)), total_(total), initial_(initial), done_(initial),
      enabled_(enabled && ::isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()), last_draw_() {}

ProgressBar::~ProgressBar() {
  // A download that failed leaves its last state on screen; end the line so later output starts clean.
  if (enabled_ && !finished_ && last_draw_ != std::chrono::steady_clock::time_point()) std::fputc('\n', stderr);
}

void ProgressBar::update(int64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= std::chrono::milliseconds(100)) draw(false);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  draw(true);
  finished_ = true;
}

void ProgressBar::draw(bool final_draw) {
  last_draw_ = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(last_draw_ - start_).count();
  const double rate = seconds > 0.2 ? static_cast<double>(done_ - initial_) / seconds : -1.0;
  const std::string line = format_progress_line(label_, done_, total_, rate);
  // Pad to erase a longer previous line.
  std::fprintf(stderr, "\r%-79s%s", line.c_str(), final_draw ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace tz::hub
