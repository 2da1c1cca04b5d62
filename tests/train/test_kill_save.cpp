// A killed save loses nothing. A child process saves while the test kills it with SIGKILL at a
// random moment (seeded, 50 trials per kind); afterwards the directory must load and be wholly the
// previous version or wholly the new one:
//  - save_pretrained of a model directory (config.json, model.safetensors, vocab.txt: all three
//    must come from the same save, and a file the save does not write must survive);
//  - training checkpoints of `tensorzoo train mlm --save-every 1`: the newest complete
//    checkpoint must be byte for byte the one an uninterrupted run wrote at that step, and
//    `--resume` from it must continue with the uninterrupted run's losses and final model.
// Each kind also checks that some kills did land inside a save (a temporary folder was left), so
// the test cannot pass by always killing before or after the writing.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "models/convbert/config.h"
#include "models/registry.h"
#include "tensor/ops.h"
#include "train/checkpoint_dir.h"

namespace fs = std::filesystem;
namespace cb = tz::convbert;

namespace {

constexpr int kTrials = 50;

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("tz_kill_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

struct RemoveAtExit {
  ~RemoveAtExit() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("tz_kill_" + std::to_string(::getpid())), ec);
  }
} remove_at_exit;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool has_temporary(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

void remove_temporaries(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) fs::remove_all(e.path());
}

// The pid of a process that has ended (so a folder named after it is a dead save's leftover).
pid_t dead_pid() {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  REQUIRE(::waitpid(pid, nullptr, 0) == pid);
  return pid;
}

// Kills `pid` after `delay`, reaps it; true when it was still running (killed, not finished).
bool kill_after(pid_t pid, std::chrono::microseconds delay) {
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) REQUIRE(WEXITSTATUS(status) == 0);  // a save that finished must have succeeded
  return WIFSIGNALED(status);
}

// ---- model directories -------------------------------------------------------------------------

cb::ConvBertConfig model_config(int version) {
  cb::ConvBertConfig c;
  c.vocab_size = 3000;
  c.hidden_size = c.embedding_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 128;
  c.max_position_embeddings = 64;
  c.conv_kernel_size = 3;
  c.pad_token_id = 0;
  c.layer_norm_eps = version == 1 ? 1e-12 : 1e-7;  // marks the version in config.json
  return c;
}

double word_embeddings_sum(const tz::models::PreTrainedModel& m) {
  for (const auto& [name, t] : m.state_dict())
    if (name.find("word_embeddings.weight") != std::string::npos) return tz::raw::sum(t, {0, 1}).item();
  FAIL("no word_embeddings.weight");
  return 0;
}

// Which version a loaded directory is, from each of its three files; 0 when a file matches neither.
struct Versions {
  int config = 0, weights = 0, vocab = 0;
};

}  // namespace

TEST_CASE("a save_pretrained killed at any point leaves the previous or the new model, whole", "[train][kill]") {
  const fs::path root = fresh_dir("model");
  std::shared_ptr<tz::models::PreTrainedModel> models[3];
  double checksum[3] = {0, 0, 0};
  fs::path tok[3];
  for (int v : {1, 2}) {
    models[v] = tz::models::create(model_config(v), "ConvBertForMaskedLM", static_cast<uint64_t>(v));
    checksum[v] = word_embeddings_sum(*models[v]);
    tok[v] = root / ("tok" + std::to_string(v));
    fs::create_directories(tok[v]);
    std::ofstream(tok[v] / "vocab.txt") << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nversion" << v << "\n";
  }
  REQUIRE(checksum[1] != checksum[2]);
  const fs::path dir = root / "model";
  tz::models::save_pretrained(*models[1], dir.string(), tok[1].string());
  std::ofstream(dir / "README.md") << "kept across saves\n";

  auto versions_of = [&]() {
    Versions got;
    tz::models::LoadOptions strict;
    strict.strict = true;
    strict.verbose = false;
    auto loaded = tz::models::from_pretrained(dir.string(), strict);
    for (int v : {1, 2}) {
      if (loaded->config().layer_norm_eps == model_config(v).layer_norm_eps) got.config = v;
      if (word_embeddings_sum(*loaded) == checksum[v]) got.weights = v;
      if (slurp(dir / "vocab.txt").find("version" + std::to_string(v)) != std::string::npos) got.vocab = v;
    }
    return got;
  };

  // How long a forked child takes to save here, to spread the kills over twice that (so that
  // about half of them land inside a save and the rest let it finish).
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t timing = ::fork();
  REQUIRE(timing >= 0);
  if (timing == 0) {
    tz::models::save_pretrained(*models[2], (root / "timing").string(), tok[2].string());
    ::_exit(0);
  }
  REQUIRE(::waitpid(timing, nullptr, 0) == timing);
  const auto save_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<int64_t> delay_us(0, save_us.count() * 2);

  int on_disk = 1, killed_inside = 0, finished = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    remove_temporaries(root);  // so a leftover seen below is this trial's
    const int next = 3 - on_disk;
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        tz::models::save_pretrained(*models[next], dir.string(), tok[next].string());
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    const bool killed = kill_after(pid, std::chrono::microseconds(delay_us(rng)));
    INFO("trial " << trial << ", " << (killed ? "killed" : "finished") << ", version on disk before: " << on_disk);
    if (killed && has_temporary(root)) ++killed_inside;
    finished += !killed;
    const Versions got = versions_of();
    CHECK(got.config != 0);
    CHECK(got.weights == got.config);
    CHECK(got.vocab == got.config);
    CHECK(slurp(dir / "README.md") == "kept across saves\n");
    if (!killed) CHECK(got.config == next);  // a save that finished is in place
    if (got.config != 0) on_disk = got.config;
  }
  std::cout << "save_pretrained kill test: one save in a child takes " << save_us.count() << " us; " << killed_inside
            << " of " << kTrials << " kills landed inside a save, " << finished << " saves finished\n";
  CHECK(killed_inside > 0);
  CHECK(finished > 0);
  // The next save clears what killed saves left behind.
  fs::create_directories(root / ("model.tmp-" + std::to_string(dead_pid())) / "half");
  tz::models::save_pretrained(*models[1], dir.string(), tok[1].string());
  CHECK_FALSE(has_temporary(root));
  CHECK(versions_of().config == 1);
}

// ---- training checkpoints through the CLI -----------------------------------------------------------

namespace {

struct Workspace {
  fs::path dir = fresh_dir("train");
  Workspace() {
    fs::create_directories(dir / "tok");
    const char* words[] = {"the", "cat", "dog", "sat", "on", "mat", "ran", "far", "and", "a", "big", "small"};
    std::ofstream vocab(dir / "tok" / "vocab.txt");
    vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n";
    for (const char* w : words) vocab << w << "\n";
    vocab.close();
    std::ofstream corpus(dir / "corpus.txt");
    uint64_t x = 7;
    for (int line = 0; line < 60; ++line) {
      for (int i = 0; i < 6 + line % 5; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        corpus << (i ? " " : "") << words[(x >> 33) % std::size(words)];
      }
      corpus << " .\n";
    }
    corpus.close();
    nlohmann::json config = {{"model_type", "convbert"}, {"vocab_size", 18}, {"hidden_size", 32},
                             {"embedding_size", 32}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                             {"intermediate_size", 64}, {"max_position_embeddings", 32}, {"conv_kernel_size", 3},
                             {"pad_token_id", 0}, {"hidden_dropout_prob", 0.1}, {"attention_probs_dropout_prob", 0.1}};
    std::ofstream(dir / "config.json") << config.dump();
  }
  std::vector<std::string> train_args(const fs::path& out, bool resume) const {
    std::vector<std::string> a = {TZ_CLI_PATH, "train", "mlm", "--corpus", (dir / "corpus.txt").string(),
                                  "--config", (dir / "config.json").string(), "--tokenizer", (dir / "tok").string(),
                                  "--out", out.string(), "--steps", "12", "--batch-size", "4", "--seq-len", "12",
                                  "--lr", "5e-3", "--warmup", "2", "--seed", "3", "--threads", "1", "--log-every", "1",
                                  "--save-every", "1", "--keep-checkpoints", "0", "--quiet"};
    if (resume) a.push_back("--resume");
    return a;
  }
};

pid_t spawn(const std::vector<std::string>& args) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, STDOUT_FILENO);
    ::dup2(devnull, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int run_to_end(const std::vector<std::string>& args) {
  int status = 0;
  const pid_t pid = spawn(args);
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// metrics.jsonl without the timing field, which differs between runs.
std::vector<nlohmann::json> records(const fs::path& out) {
  std::vector<nlohmann::json> r;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    j.erase("tokens_per_s");
    r.push_back(j);
  }
  return r;
}

// Every file of a checkpoint folder, by name.
std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> f;
  for (const auto& e : fs::directory_iterator(dir)) f[e.path().filename().string()] = slurp(e.path());
  return f;
}

}  // namespace

TEST_CASE("a training run killed at any point keeps its checkpoints whole, and --resume continues it exactly",
          "[train][kill][cli]") {
  Workspace ws;
  const fs::path straight = ws.dir / "straight";
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run_to_end(ws.train_args(straight, false)) == 0);
  const auto run_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  const auto want_records = records(straight);
  REQUIRE(want_records.size() >= 12);
  tz::train::CheckpointDir want((straight / "checkpoints").string());
  REQUIRE(want.complete_steps().size() == 12);
  const std::string want_model = slurp(straight / "model" / "model.safetensors");

  std::mt19937 rng(1906);
  std::uniform_int_distribution<int64_t> delay_us(0, run_us.count());
  int killed_inside = 0, resumed = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const fs::path out = ws.dir / ("killed" + std::to_string(trial));
    const bool killed = kill_after(spawn(ws.train_args(out, false)), std::chrono::microseconds(delay_us(rng)));
    INFO("trial " << trial << (killed ? ", killed" : ", finished"));
    tz::train::CheckpointDir got((out / "checkpoints").string());
    if (killed && fs::is_directory(got.root()) && has_temporary(got.root())) ++killed_inside;
    for (int64_t step : got.complete_steps()) {
      INFO("checkpoint step " << step);
      CHECK(files_of(got.path_for(step)) == files_of(want.path_for(step)));
    }
    // Every fifth run is resumed to the end: the same records and final model as the straight run.
    if (trial % 5 == 0) {
      ++resumed;
      REQUIRE(run_to_end(ws.train_args(out, true)) == 0);
      CHECK(records(out) == want_records);
      CHECK(slurp(out / "model" / "model.safetensors") == want_model);
    }
    fs::remove_all(out);
  }
  std::cout << "training kill test: an uninterrupted run takes " << run_us.count() / 1000 << " ms; "
            << killed_inside << " of " << kTrials << " kills landed inside a checkpoint save; " << resumed
            << " runs resumed to the end\n";
  CHECK(killed_inside > 0);
}
