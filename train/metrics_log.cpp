// metrics.jsonl writing and reading; see metrics_log.h.
#include "train/metrics_log.h"

#include <filesystem>

#include "core/error.h"

namespace tz::train {

std::vector<nlohmann::json> read_metrics_log(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) records.push_back(std::move(j));
  }
  return records;
}

MetricsLog::MetricsLog(const std::string& path, int64_t keep_up_to_step) : path_(path) {
  std::vector<nlohmann::json> kept;
  if (keep_up_to_step >= 0)
    for (auto& r : read_metrics_log(path))
      if (r.value("step", int64_t{0}) <= keep_up_to_step) kept.push_back(std::move(r));
  out_.open(path, std::ios::trunc);
  TZ_CHECK(out_.good(), "metrics log: cannot write '", path, "'");
  for (const auto& r : kept) out_ << r.dump() << "\n";
  out_.flush();
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << "\n";
  out_.flush();
  TZ_CHECK(out_.good(), "metrics log: write to '", path_, "' failed");
}

}  // namespace tz::train
