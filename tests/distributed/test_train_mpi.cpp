// Data-parallel training gives the model one process gives: 20 steps of masked-LM on a tiny
// ConvBERT (dropout on) with a global batch of 8, once as one process and once as
// `mpirun -np 2`; per-step losses must agree within 1e-5 relative and the final parameters
// within 1e-5 absolute. Also: a batch that does not divide by the process count is refused, and
// a failure on one rank stops the whole job with the rank named. Runs only in the plain
// (non-mpirun) invocation of test_distributed, and only when the build has MPI (required under CI).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "distributed/communicator.h"
#include "tests/test_util.h"
#include "tensor/io/checkpoint.h"

namespace fs = std::filesystem;

namespace {

const char* kWords[] = {"the", "cat", "dog", "sat", "on", "mat", "ran", "far", "and", "a",
                        "big", "small", "red", "blue", "house", "tree", "bird", "sang", "low", "high",
                        "over", "under", "green", "hill", "river", "fast", "slow", "day", "night", "sun"};

// A corpus, a vocabulary covering it and a tiny config, in a fresh folder.
fs::path make_workspace() {
  fs::path dir = fs::temp_directory_path() / ("tz_mpi_train_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "tok");
  std::ofstream vocab(dir / "tok" / "vocab.txt");
  vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n";
  for (const char* w : kWords) vocab << w << "\n";
  vocab.close();
  const int vocab_size = 6 + static_cast<int>(std::size(kWords));
  std::ofstream corpus(dir / "corpus.txt");
  uint64_t x = 12345;  // a fixed LCG: the same corpus every run
  for (int line = 0; line < 120; ++line) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int len = 4 + static_cast<int>((x >> 33) % 12);
    for (int i = 0; i < len; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      corpus << (i ? " " : "") << kWords[(x >> 33) % std::size(kWords)];
    }
    corpus << " .\n";
  }
  corpus.close();
  nlohmann::json cfg = {{"architectures", {"ConvBertForMaskedLM"}}, {"model_type", "convbert"},
                        {"vocab_size", vocab_size}, {"hidden_size", 32}, {"embedding_size", 32},
                        {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"intermediate_size", 48},
                        {"head_ratio", 2}, {"conv_kernel_size", 3}, {"num_groups", 1},
                        {"max_position_embeddings", 64}, {"type_vocab_size", 2}, {"pad_token_id", 0},
                        {"hidden_dropout_prob", 0.1}, {"attention_probs_dropout_prob", 0.1}};
  std::ofstream(dir / "config.json") << cfg.dump(2);
  return dir;
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string mpirun(int np) {
  return std::string(TZ_MPIEXEC) + " -np " + std::to_string(np) + " --allow-run-as-root --oversubscribe ";
}

std::string train_cmd(const fs::path& ws, const fs::path& out, int64_t batch) {
  std::ostringstream c;
  c << TZ_CLI_PATH << " train mlm --corpus " << ws / "corpus.txt" << " --config " << ws / "config.json"
    << " --tokenizer " << ws / "tok" << " --out " << out << " --steps 20 --batch-size " << batch
    << " --seq-len 16 --lr 3e-3 --warmup 2 --seed 5 --threads 1 --log-every 1 --save-every 10 --quiet";
  return c.str();
}

std::vector<double> losses_of(const fs::path& out) {
  std::vector<double> losses;
  std::ifstream in(out / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) losses.push_back(j["loss"].get<double>());
  }
  return losses;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The baseline: one process, 20 steps (run once, shared by the test cases below).
struct Baseline {
  fs::path ws;
  std::string quiet;
  std::vector<double> one;
};

const Baseline& baseline() {
  static Baseline b = [] {
    Baseline r;
    r.ws = make_workspace();
    r.quiet = " > " + (r.ws / "log.txt").string() + " 2>&1";
    REQUIRE(run(train_cmd(r.ws, r.ws / "one", 8) + r.quiet) == 0);
    r.one = losses_of(r.ws / "one");
    REQUIRE(r.one.size() == 20);
    return r;
  }();
  return b;
}

// These tests start mpirun themselves, so they run in the plain invocation only (the mpirun one
// runs test_distributed.cpp's cases). A build without MPI skips them, which fails under CI.
bool mpi_test_applies() {
  if (tz::dist::launched_by_mpi()) return false;
  return tz::test::require_or_skip(TZ_HAVE_MPI, "this build has no MPI (install libopenmpi-dev and reconfigure)");
}

}  // namespace

TEST_CASE("mpirun -np 2 trains the model one process trains", "[distributed][train]") {
  if (!mpi_test_applies()) return;
  const Baseline& base = baseline();
  const fs::path& ws = base.ws;
  REQUIRE(run(mpirun(2) + train_cmd(ws, ws / "two", 8) + base.quiet) == 0);
  const std::vector<double>& one = base.one;
  std::vector<double> two = losses_of(ws / "two");
  REQUIRE(two.size() == 20);
  for (size_t k = 0; k < one.size(); ++k) {
    INFO("step " << k + 1 << ": one process " << one[k] << ", two processes " << two[k]);
    REQUIRE(std::abs(one[k] - two[k]) <= 1e-5 * std::abs(one[k]));
  }
  REQUIRE(one.back() < one.front());  // it learns

  auto a = tz::io::load_safetensors((ws / "one" / "model" / "model.safetensors").string());
  auto b = tz::io::load_safetensors((ws / "two" / "model" / "model.safetensors").string());
  REQUIRE(a.names == b.names);
  double worst = 0;
  for (size_t i = 0; i < a.names.size(); ++i) {
    if (a.tensors.at(a.names[i]).dtype() != tz::DType::Float32) {  // buffers such as position_ids
      REQUIRE(a.tensors.at(a.names[i]).to_vector<int64_t>() == b.tensors.at(b.names[i]).to_vector<int64_t>());
      continue;
    }
    std::vector<float> x = a.tensors.at(a.names[i]).to_vector<float>(), y = b.tensors.at(b.names[i]).to_vector<float>();
    REQUIRE(x.size() == y.size());
    for (size_t e = 0; e < x.size(); ++e) worst = std::max(worst, static_cast<double>(std::abs(x[e] - y[e])));
  }
  INFO("final parameters, max abs difference " << worst);
  REQUIRE(worst <= 1e-5);
}

TEST_CASE("a 2-process checkpoint resumes in 1 process and vice versa", "[distributed][train]") {
  if (!mpi_test_applies()) return;
  const Baseline& base = baseline();
  const fs::path& ws = base.ws;
  fs::path ab = ws / "two_then_one", ba = ws / "one_then_two";
  REQUIRE(run(mpirun(2) + train_cmd(ws, ab, 8) + " --stop-after 10" + base.quiet) == 0);
  REQUIRE(run(train_cmd(ws, ab, 8) + " --resume" + base.quiet) == 0);
  REQUIRE(run(train_cmd(ws, ba, 8) + " --stop-after 10" + base.quiet) == 0);
  REQUIRE(run(mpirun(2) + train_cmd(ws, ba, 8) + " --resume" + base.quiet) == 0);
  for (const fs::path& out : {ab, ba}) {
    std::vector<double> l = losses_of(out);
    REQUIRE(l.size() == 20);
    for (size_t k = 0; k < l.size(); ++k) {
      INFO(out.filename().string() << " step " << k + 1 << ": " << l[k] << " vs " << base.one[k]);
      REQUIRE(std::abs(l[k] - base.one[k]) <= 1e-5 * std::abs(base.one[k]));
    }
  }
}

TEST_CASE("distributed train: refused batch sizes and failing ranks stop the job", "[distributed][train]") {
  if (!mpi_test_applies()) return;
  const Baseline& base = baseline();
  const fs::path& ws = base.ws;
  // The global batch must divide by the process count.
  REQUIRE(run(mpirun(2) + train_cmd(ws, ws / "odd", 7) + base.quiet) != 0);
  std::string log = slurp(ws / "log.txt");
  REQUIRE(log.find("--batch-size 7") != std::string::npos);
  REQUIRE(log.find("divide by the number of processes (2)") != std::string::npos);

  // Rank 1 reads a corpus that does not exist: every rank stops (no hang), the rank is named.
  std::string good = train_cmd(ws, ws / "bad", 8), bad = good;
  bad.replace(bad.find("corpus.txt"), 10, "missing.txt");
  std::string cmd = std::string(TZ_MPIEXEC) + " --allow-run-as-root --oversubscribe -np 1 " + good + " : -np 1 " + bad;
  REQUIRE(run("timeout 120 " + cmd + base.quiet) != 0);
  log = slurp(ws / "log.txt");
  REQUIRE(log.find("rank 1/2") != std::string::npos);
  REQUIRE(log.find("missing.txt") != std::string::npos);
}

TEST_CASE("train rtd: mpirun -np 2 gives the losses of one process, and resumes exactly", "[distributed][train][rtd]") {
  if (!mpi_test_applies()) return;
  const Baseline& base = baseline();
  const fs::path& ws = base.ws;
  // A discriminator with an embedding projection and a generator at half its width (dropout on).
  nlohmann::json disc = {{"model_type", "convbert"}, {"vocab_size", 36}, {"hidden_size", 32}, {"embedding_size", 16},
                         {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"intermediate_size", 48},
                         {"conv_kernel_size", 3}, {"max_position_embeddings", 64}, {"pad_token_id", 0},
                         {"hidden_dropout_prob", 0.1}, {"attention_probs_dropout_prob", 0.1}};
  std::ofstream(ws / "disc.json") << disc.dump(2);
  auto cmd = [&](const fs::path& out) {
    std::ostringstream c;
    c << TZ_CLI_PATH << " train rtd --corpus " << ws / "corpus.txt" << " --config " << ws / "disc.json"
      << " --generator-size 0.5 --tokenizer " << ws / "tok" << " --out " << out
      << " --steps 12 --batch-size 8 --seq-len 16 --lr 3e-3 --warmup 2 --seed 7 --threads 1 --log-every 1"
      << " --save-every 6 --quiet";
    return c.str();
  };
  REQUIRE(run(cmd(ws / "rtd_one") + base.quiet) == 0);
  REQUIRE(run(mpirun(2) + cmd(ws / "rtd_two") + base.quiet) == 0);
  REQUIRE(run(mpirun(2) + cmd(ws / "rtd_resumed") + " --stop-after 6" + base.quiet) == 0);
  REQUIRE(run(cmd(ws / "rtd_resumed") + " --resume" + base.quiet) == 0);
  const std::vector<double> one = losses_of(ws / "rtd_one");
  REQUIRE(one.size() == 12);
  for (const char* name : {"rtd_two", "rtd_resumed"}) {
    const std::vector<double> other = losses_of(ws / name);
    REQUIRE(other.size() == 12);
    for (size_t k = 0; k < one.size(); ++k) {
      INFO(name << " step " << k + 1 << ": " << other[k] << " vs one process " << one[k]);
      REQUIRE(std::abs(one[k] - other[k]) <= 1e-5 * std::abs(one[k]));
    }
  }
}
