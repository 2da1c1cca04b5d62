// `tensorzoo bench` as a script uses it: a tiny config, one run, and one JSON line last with the
// keys bench/compare_peers.sh and bench/summarize.py rely on (the numbers themselves are not
// checked: no timing in tests).
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/convbert/config.h"
#include "models/convbert/inference.h"

#include "tests/cli/run_cli.h"

namespace {
std::string run_stdout(const std::string& args, int* code) {
  return tz::test::capture_command(std::string(TZ_CLI_PATH) + " " + args + " 2>/dev/null", code);
}

std::string last_line(const std::string& s) {
  std::istringstream in(s);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}
}  // namespace

TEST_CASE("tensorzoo bench prints one JSON line with the contract's keys", "[cli][bench]") {
  auto dir = std::filesystem::temp_directory_path() / "tz_test_bench";
  std::filesystem::create_directories(dir);
  tz::convbert::ConvBertConfig c;
  c.vocab_size = 100, c.hidden_size = 32, c.embedding_size = 16, c.num_attention_heads = 4;
  c.intermediate_size = 64, c.num_hidden_layers = 2, c.max_position_embeddings = 64;
  const std::string path = (dir / "config.json").string();
  c.save(path);
  for (const char* mode : {"", " --train"}) {
    int code = -1;
    std::string out = run_stdout("bench --config " + path + " --batch 2 --seq 16 --threads 1 --reps 1 --warmup 0" +
                                     mode, &code);
    INFO(mode << ": " << out);
    REQUIRE(code == 0);
    auto j = nlohmann::json::parse(last_line(out));
    for (const char* key : {"system", "config", "batch", "seq", "threads", "mode", "median_s", "min_s", "max_s",
                            "peak_rss_mb", "gflops", "blas_core", "cpu", "sgemm_gflops"})
      CHECK(j.contains(key));
    CHECK(j["system"] == "tensorzoo");
    CHECK(j["batch"] == 2);
    CHECK(j["seq"] == 16);
    CHECK(j["mode"] == (std::string(mode).empty() ? "infer" : "train"));
    CHECK(j["median_s"].get<double>() > 0);
    CHECK(j["peak_rss_mb"].get<double>() > 0);
    // gflops is the forward FLOP count over the median.
    CHECK(j["gflops"].get<double>() ==
          Approx(tz::convbert::forward_flops(c, 2, 16) / j["median_s"].get<double>() / 1e9).epsilon(1e-6));
  }
  // --paired-scaling: every timed run index runs once at 1 thread and once at T threads (stderr
  // lists each), and the JSON line adds the 1-thread median and the median speedup over pairs.
  for (const char* mode : {"", " --train"}) {
    int code = -1;
    std::string out = tz::test::capture_command(std::string(TZ_CLI_PATH) + " bench --config " + path +
                                                    " --batch 2 --seq 16 --threads 2 --reps 3 --warmup 1 "
                                                    "--paired-scaling" + mode + " 2>&1",
                                                &code);
    INFO(mode << ": " << out);
    REQUIRE(code == 0);
    auto j = nlohmann::json::parse(last_line(out));
    REQUIRE((j.contains("median_s_1t") && j.contains("paired_speedup")));
    CHECK(j["threads"] == 2);
    CHECK(j["median_s_1t"].get<double>() > 0);
    CHECK(std::isfinite(j["paired_speedup"].get<double>()));
    CHECK(j["paired_speedup"].get<double>() > 0);
    auto count = [&](const std::string& what) {
      size_t n = 0;
      for (size_t at = out.find(what); at != std::string::npos; at = out.find(what, at + 1)) ++n;
      return n;
    };
    CHECK(count(" at 1 thread: ") == 4);  // 1 warm-up + 3 timed
    CHECK(count(" at 2 threads: ") == 4);
  }
  int code = -1;
  run_stdout("bench --config " + path + " --threads 1 --paired-scaling", &code);
  CHECK(code != 0);  // nothing to pair with
  run_stdout("bench --help", &code);
  CHECK(code == 0);
  std::filesystem::remove_all(dir);
}
