// loss.svg: round-number ticks, one polyline per non-empty series, a legend entry each, and
// points mapped inside the plot area.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "train/loss_plot.h"
#include "train/metrics_log.h"

using namespace tz::train;
namespace fs = std::filesystem;

namespace {
size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("nice_ticks picks 1-2-5 steps covering the range", "[train][plot]") {
  CHECK(nice_ticks(0, 10, 5) == std::vector<double>{0, 2, 4, 6, 8, 10});
  CHECK(nice_ticks(0.13, 0.61, 5) == std::vector<double>{0.2, 0.3, 0.4, 0.5, 0.6});
  CHECK(nice_ticks(1, 1000, 4) == std::vector<double>{500, 1000});
  CHECK(nice_ticks(3, 3) == std::vector<double>{3});
}

TEST_CASE("loss_plot_svg draws each non-empty series with a legend", "[train][plot]") {
  PlotSeries train{"training loss", "#1f77b4", {{10, 3.0}, {20, 2.0}, {30, 1.5}}};
  PlotSeries eval{"eval <dev>", "#d62728", {{30, 1.8}}};
  PlotSeries none{"unused", "#000", {}};
  std::string svg = loss_plot_svg({train, eval, none}, "run & test");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(count(svg, "<polyline") == 2);
  CHECK(count(svg, "<circle") == 1);  // the single eval point is drawn as a dot
  CHECK(svg.find("training loss") != std::string::npos);
  CHECK(svg.find("eval &lt;dev&gt;") != std::string::npos);  // escaped
  CHECK(svg.find("run &amp; test") != std::string::npos);
  CHECK(svg.find("unused") == std::string::npos);
  // x from step 10 (left edge, x=70) to 30 (right edge, x=700); the highest loss sits near the top.
  CHECK(svg.find("points=\"70,") != std::string::npos);
  CHECK(svg.find(" 700,") != std::string::npos);
}

TEST_CASE("write_loss_plot reads metrics.jsonl", "[train][plot]") {
  fs::path dir = fs::temp_directory_path() / ("tz_plot_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    MetricsLog log((dir / "metrics.jsonl").string(), -1);
    log.write({{"step", 1}, {"loss", 2.0}});
    log.write({{"step", 2}, {"loss", 1.0}});
    log.write({{"step", 2}, {"eval_loss", 1.5}, {"accuracy", 0.5}});
  }
  {
    MetricsLog resumed((dir / "metrics.jsonl").string(), 1);  // resume at step 1 drops the rest
    resumed.write({{"step", 2}, {"loss", 0.5}});
  }
  auto records = read_metrics_log((dir / "metrics.jsonl").string());
  REQUIRE(records.size() == 2);
  CHECK(records[1]["loss"] == 0.5);
  write_loss_plot((dir / "metrics.jsonl").string(), (dir / "loss.svg").string(), "t");
  std::ifstream in(dir / "loss.svg");
  std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(count(svg, "<polyline") == 1);  // no eval records left
  fs::remove_all(dir);
}
