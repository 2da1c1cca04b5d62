// Tokenizer throughput on a line-per-input corpus, measured the way the HF anchor
// (shared/bench/tokenizer-anchor/bench.js) measures it: every non-empty line encoded with special
// tokens, MB = bytes of the lines joined by '\n', tokens = all ids including [CLS]/[SEP], the median
// of `runs` timed passes after an untimed warm-up over the first 20,000 lines (batch modes: the
// batches that hold them).
//   bench_tokenizer CORPUS TOKENIZER [runs=3] [modes=line,batch1,batch2,reuse1,reuse2] [batch=1024]
// Modes: line = one encode() per line; batchN = encode_batch() of `batch` lines on N threads,
// returning new Encodings (freed after each batch, as the anchor's are); reuseN = the same into
// one std::vector<Encoding> passed to every call (its Encodings keep their capacity).
// The modes take turns within each run (round), so that a change in the load of a shared machine
// touches every mode alike. A mode "xN" is also reported as its speed over "x1" (or over the
// first mode when there is no "x1"), per round and as the median of those ratios.
// Offsets are computed in every mode (byte offsets always; code point offsets too, as the anchor's
// binding returns code point offsets). scripts/bench_tokenizer.sh runs this beside the anchor.
// Not a Google Benchmark program: one pass over 20 MB is the measurement.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/wordpiece.h"

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Process CPU time (all threads): on a shared machine wall time also counts other people's work.
double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_tokenizer CORPUS TOKENIZER [runs=3] [modes=line,batch1,batch2,reuse1,reuse2] "
                 "[batch=1024]\n";
    return 2;
  }
  int runs = argc > 3 ? std::stoi(argv[3]) : 3;
  std::vector<std::string> modes = split(argc > 4 ? argv[4] : "line,batch1,batch2,reuse1,reuse2", ',');
  std::size_t batch = argc > 5 ? std::stoul(argv[5]) : 1024;

  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::cerr << "cannot open " << argv[1] << "\n";
    return 1;
  }
  std::vector<std::string> lines;
  std::size_t bytes = 0;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      bytes += line.size() + 1;
      lines.push_back(std::move(line));
    }
  if (bytes > 0) --bytes;  // joined by '\n': one separator fewer than lines
  double mb = static_cast<double>(bytes) / 1e6;

  auto tok = tz::tokenizer::WordPiece::from_pretrained(argv[2]);
  tz::tokenizer::EncodeOptions options;
  options.char_offsets = true;

  // The batches are cut once, outside the timing, as the anchor's slices of its line array are
  // (a JavaScript slice copies references, not strings).
  std::vector<std::vector<std::string>> batches;
  for (std::size_t i = 0; i < lines.size(); i += batch)
    batches.emplace_back(lines.begin() + static_cast<std::ptrdiff_t>(i),
                         lines.begin() + static_cast<std::ptrdiff_t>(std::min(lines.size(), i + batch)));

  std::vector<tz::tokenizer::Encoding> reused;
  auto run_mode = [&](const std::string& mode, std::size_t n_lines) -> std::size_t {
    std::size_t n_tokens = 0;
    if (mode == "line") {
      for (std::size_t i = 0; i < n_lines; ++i) n_tokens += tok.encode(lines[i], options).size();
      return n_tokens;
    }
    tz::tokenizer::EncodeOptions o = options;
    o.num_threads = static_cast<unsigned>(std::stoul(mode.substr(5)));
    if (mode.rfind("reuse", 0) == 0) {
      for (std::size_t b = 0; b * batch < n_lines; ++b) {
        tok.encode_batch(batches[b], o, reused);
        for (const auto& e : reused) n_tokens += e.size();
      }
      return n_tokens;
    }
    for (std::size_t b = 0; b * batch < n_lines; ++b)
      for (const auto& e : tok.encode_batch(batches[b], o)) n_tokens += e.size();
    return n_tokens;
  };

  std::printf("corpus %s: %.2f MB, %zu lines; tensorzoo WordPiece (byte + code point offsets)\n", argv[1], mb,
              lines.size());
  for (const std::string& mode : modes) {
    bool threaded = (mode.rfind("batch", 0) == 0 || mode.rfind("reuse", 0) == 0) && mode.size() > 5 &&
                    mode.find_first_not_of("0123456789", 5) == std::string::npos;
    if (mode != "line" && !threaded) {
      std::cerr << "unknown mode " << mode << "\n";
      return 2;
    }
    run_mode(mode, std::min<std::size_t>(lines.size(), 20000));  // warm-up
  }
  std::vector<std::vector<double>> times(modes.size()), cpu_times(modes.size());
  std::vector<std::size_t> n_tokens(modes.size());
  for (int r = 0; r < runs; ++r)
    for (std::size_t m = 0; m < modes.size(); ++m) {
      double t0 = now(), c0 = cpu_now();
      n_tokens[m] = run_mode(modes[m], lines.size());
      times[m].push_back(now() - t0);
      cpu_times[m].push_back(cpu_now() - c0);
    }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  for (std::size_t m = 0; m < modes.size(); ++m) {
    double t = median(times[m]), c = median(cpu_times[m]);
    std::printf("%-11s median %.2f s  %.2f MB/s  %.3f M tokens/s  (runs:", modes[m].c_str(), t, mb / t,
                static_cast<double>(n_tokens[m]) / t / 1e6);
    for (double x : times[m]) std::printf(" %.2f", x);
    std::printf("; tokens=%zu; cpu %.2f s = %.2f MB/s per CPU-second)\n", n_tokens[m], c, mb / c);
  }
  for (std::size_t m = 1; m < modes.size(); ++m) {
    // Speed of mode m over its one-thread mode (or the first mode), each round on its own.
    std::size_t base = 0;
    if (modes[m] != "line") {
      auto one = std::find(modes.begin(), modes.end(), modes[m].substr(0, 5) + "1");
      if (one != modes.end()) base = static_cast<std::size_t>(one - modes.begin());
    }
    if (base == m) continue;
    std::vector<double> ratios;
    for (int r = 0; r < runs; ++r) ratios.push_back(times[base][r] / times[m][r]);
    std::printf("%s / %s speed: median %.2f (rounds:", modes[m].c_str(), modes[base].c_str(), median(ratios));
    for (double x : ratios) std::printf(" %.2f", x);
    std::printf(")\n");
  }
  return 0;
}
