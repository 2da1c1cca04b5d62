// metrics.jsonl: one JSON object per line for every log and evaluation event of a run
// ({"step": 10, "loss": 3.2, "lr": 1e-4, ...} / {"step": 50, "eval_loss": 2.9, "accuracy": 0.8}).
// Appends and flushes each line, so a crashed run keeps what it logged. On resume the lines past
// the checkpoint's step are dropped first, so the file reads as one uninterrupted run.
// Not here: plotting the file (loss_plot.h).
#pragma once

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tz::train {

class MetricsLog {
 public:
  /// Opens `path` for appending (creates it). keep_up_to_step >= 0: first drops the records with
  /// a step above it (resume); -1: starts an empty file.
  MetricsLog(const std::string& path, int64_t keep_up_to_step);
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

/// Every record of a metrics.jsonl file (lines that are not JSON objects are skipped).
std::vector<nlohmann::json> read_metrics_log(const std::string& path);

}  // namespace tz::train
