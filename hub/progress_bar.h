// A one-line download progress bar on stderr: name, bytes done of total, percentage, rate, ETA.
// Drawn only when asked and stderr is a terminal; redrawn at most ten times a second.
// Not here: the download it reports on (file_download.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tz::hub {

/// "1.2M", "530.0K", "12B": sizes in powers of 1000, as `huggingface-cli scan-cache` prints them.
std::string format_size(int64_t bytes);

/// The bar's text for `done` of `total` bytes (`total` < 0: unknown), `rate` bytes per second
/// (< 0: not yet known). No timing inside, so tests can check it.
std::string format_progress_line(const std::string& label, int64_t done, int64_t total, double rate);

class ProgressBar {
 public:
  /// `initial` bytes are already there (a resumed download); the rate counts only new bytes.
  /// With `enabled` false (or stderr not a terminal) nothing is ever drawn.
  ProgressBar(std::string label, int64_t total, int64_t initial, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// `done` bytes in total so far.
  void update(int64_t done);
  /// Draws the final state and ends the line.
  void finish();

 private:
  void draw(bool final_draw);
  std::string label_;
  int64_t total_, initial_, done_;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace tz::hub
