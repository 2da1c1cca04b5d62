// `tensorzoo train` as a user runs it, on a tiny model: classification learns a separable toy
// task (loss falls, test accuracy 1), writes the documented files, MLM runs on a corpus with a
// broken line, and bad input gives a clear error and exit code 1 (never a crash).
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {
struct Result {
  int code;
  bool signaled;
  std::string out, stdout_only;
};
std::string capture(const std::string& cmd, int* status) {
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  *status = pclose(f);
  return out;
}
Result train(const std::string& args) {
  int status = 0;
  std::string both = capture(std::string(TZ_CLI_PATH) + " train " + args + " 2>&1", &status);
  Result r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status), both, ""};
  return r;
}
Result train_stdout(const std::string& args) {
  int status = 0;
  std::string out = capture(std::string(TZ_CLI_PATH) + " train " + args + " 2>/dev/null", &status);
  return Result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status), out, out};
}

// A temp folder with a tiny tokenizer, a tiny config and a separable sentiment task.
struct Toy {
  fs::path dir = fs::temp_directory_path() / ("tz_train_cli_" + std::to_string(::getpid()));
  Toy() {
    fs::remove_all(dir);
    fs::create_directories(dir / "tok");
    std::ofstream vocab(dir / "tok" / "vocab.txt");
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "great", "fine", "bad", "awful",
                          "poor", "the", "movie", "was", "a", "film", "plot", "."})
      vocab << t << "\n";
    vocab.close();
    nlohmann::json config = {{"hidden_size", 32},        {"embedding_size", 32},          {"num_hidden_layers", 2},
                             {"num_attention_heads", 4}, {"intermediate_size", 64},       {"max_position_embeddings", 64},
                             {"conv_kernel_size", 3},    {"hidden_dropout_prob", 0.0},    {"attention_probs_dropout_prob", 0.0},
                             {"model_type", "convbert"}};
    std::ofstream(dir / "config.json") << config.dump();
    const char* pos[] = {"good", "great", "fine"};
    const char* neg[] = {"bad", "awful", "poor"};
    const char* filler[] = {"the movie was", "a film", "the plot was", "the film was a"};
    auto write_set = [&](const fs::path& p, int n, int offset) {
      std::ofstream f(p);
      f << "sentence\tlabel\n";
      for (int i = 0; i < n; ++i) {
        bool positive = (i + offset) % 2 == 0;
        f << filler[(i + offset) % 4] << " " << (positive ? pos : neg)[(i / 2 + offset) % 3] << " .\t"
          << (positive ? "pos" : "neg") << "\n";
      }
    };
    write_set(dir / "train.tsv", 48, 0);
    write_set(dir / "dev.tsv", 12, 1);
    write_set(dir / "test.tsv", 12, 3);
  }
  ~Toy() { fs::remove_all(dir); }
  std::string p(const std::string& name) const { return (dir / name).string(); }
  std::string base(const std::string& out) const {
    return "classify --config " + p("config.json") + " --tokenizer " + p("tok") + " --out " + p(out) +
           " --seq-len 16 --batch-size 8 --threads 1 --quiet";
  }
};
}  // namespace

TEST_CASE("train classify learns a separable toy task and writes the documented files", "[cli][train]") {
  Toy toy;
  Result r = train_stdout(toy.base("run") + " --train " + toy.p("train.tsv") + " --dev " + toy.p("dev.tsv") +
                          " --test " + toy.p("test.tsv") + " --steps 60 --lr 1e-2 --eval-every 20 --warmup 5");
  INFO(r.out);
  REQUIRE(r.code == 0);
  // The test metrics are the last lines of stdout.
  auto tail = r.out.substr(r.out.find("test_"));
  CHECK(tail.find("test_accuracy=1\n") != std::string::npos);
  CHECK(tail.find("test_macro_f1=1\n") != std::string::npos);
  CHECK(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1).rfind("test_", 0) == 0);

  fs::path out = toy.dir / "run";
  nlohmann::json config = nlohmann::json::parse(std::ifstream(out / "model" / "config.json"));
  CHECK(config["id2label"] == nlohmann::json({{"0", "neg"}, {"1", "pos"}}));
  CHECK(config["label2id"] == nlohmann::json({{"neg", 0}, {"pos", 1}}));
  CHECK(config["architectures"][0] == "ConvBertForSequenceClassification");
  CHECK(config["vocab_size"] == 18);
  CHECK(fs::exists(out / "model" / "model.safetensors"));
  CHECK(fs::exists(out / "model" / "vocab.txt"));
  CHECK(fs::exists(out / "loss.svg"));
  CHECK(fs::exists(out / "test_metrics.json"));
  CHECK(fs::exists(out / "checkpoints" / "step-60" / "trainer_state.json"));
  CHECK(fs::exists(out / "checkpoints" / "step-40" / "optimizer.safetensors"));
  CHECK_FALSE(fs::exists(out / "checkpoints" / "step-20"));  // only the newest two are kept
  // The training loss falls.
  std::ifstream log(out / "metrics.jsonl");
  std::vector<double> losses;
  int evals = 0;
  for (std::string line; std::getline(log, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) losses.push_back(j["loss"].get<double>());
    if (j.contains("accuracy")) ++evals;
  }
  REQUIRE(losses.size() == 6);
  CHECK(losses.back() < losses.front() * 0.1);
  CHECK(evals == 3);
}

TEST_CASE("train mlm on a corpus with an invalid line; --model continues into classify", "[cli][train]") {
  Toy toy;
  std::ofstream(toy.dir / "corpus.txt") << "the movie was good .\nthe film was \xFF bad .\na plot was poor .\n"
                                        << "the movie was great . the plot was fine .\n";
  Result r = train("mlm --corpus " + toy.p("corpus.txt") + " --config " + toy.p("config.json") + " --tokenizer " +
                   toy.p("tok") + " --out " + toy.p("mlm") + " --seq-len 8 --batch-size 2 --steps 4 --threads 1");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("skipped 1 lines with invalid UTF-8"));
  nlohmann::json config = nlohmann::json::parse(std::ifstream(toy.dir / "mlm" / "model" / "config.json"));
  CHECK(config["architectures"][0] == "ConvBertForMaskedLM");
  CHECK(fs::exists(toy.dir / "mlm" / "loss.svg"));

  Result c = train("classify --model " + toy.p("mlm/model") + " --out " + toy.p("cls") + " --train " +
                   toy.p("train.tsv") + " --dev " + toy.p("dev.tsv") + " --steps 3 --batch-size 8 --seq-len 16 --threads 1");
  INFO(c.out);
  REQUIRE(c.code == 0);
  CHECK_THAT(c.out, Catch::Contains("head weights are newly initialised"));
  CHECK(fs::exists(toy.dir / "cls" / "model" / "vocab.txt"));
}

namespace {
// metrics.jsonl without the timing field, which differs between runs.
std::vector<nlohmann::json> records_without_timing(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    j.erase("tokens_per_s");
    out.push_back(j);
  }
  return out;
}
std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
}  // namespace

TEST_CASE("train --stop-after then --resume gives the uninterrupted run's losses", "[cli][train]") {
  Toy toy;
  // Dropout on, so the restored default generator matters.
  nlohmann::json config = nlohmann::json::parse(std::ifstream(toy.dir / "config.json"));
  config["hidden_dropout_prob"] = 0.1;
  config["attention_probs_dropout_prob"] = 0.1;
  std::ofstream(toy.dir / "dropout.json") << config.dump();
  std::ofstream corpus(toy.dir / "corpus.txt");
  for (int i = 0; i < 40; ++i) corpus << (i % 3 ? "the movie was good ." : "a film plot was poor , the film was bad .") << "\n";
  corpus.close();
  const std::string mlm = "mlm --corpus " + toy.p("corpus.txt") + " --config " + toy.p("dropout.json") + " --tokenizer " +
                          toy.p("tok") + " --seq-len 12 --batch-size 4 --grad-accum 2 --steps 10 --save-every 4 "
                          "--log-every 1 --threads 1 --quiet --lr 5e-3";
  const std::string cls = "classify --config " + toy.p("dropout.json") + " --tokenizer " + toy.p("tok") +
                          " --train " + toy.p("train.tsv") + " --dev " + toy.p("dev.tsv") +
                          " --seq-len 16 --batch-size 8 --threads 1 --quiet --steps 10 --eval-every 3 --log-every 1 --lr 5e-3";
  for (const std::string& base : {mlm, cls}) {
    Result a = train(base + " --out " + toy.p("straight"));
    REQUIRE(a.code == 0);
    Result b1 = train(base + " --out " + toy.p("resumed") + " --stop-after 6");
    INFO(b1.out);
    REQUIRE(b1.code == 0);
    CHECK_FALSE(fs::exists(toy.dir / "resumed" / "loss.svg"));
    Result b2 = train(base + " --out " + toy.p("resumed") + " --resume");
    INFO(b2.out);
    REQUIRE(b2.code == 0);
    auto ra = records_without_timing(toy.dir / "straight" / "metrics.jsonl");
    auto rb = records_without_timing(toy.dir / "resumed" / "metrics.jsonl");
    CHECK(ra.size() >= 10);
    CHECK(ra == rb);
    CHECK(file_bytes(toy.dir / "straight" / "model" / "model.safetensors") ==
          file_bytes(toy.dir / "resumed" / "model" / "model.safetensors"));
    fs::remove_all(toy.dir / "straight");
    fs::remove_all(toy.dir / "resumed");
  }
}

TEST_CASE("train classify: JSONL sentence pairs with float labels train a regression head", "[cli][train]") {
  Toy toy;
  std::ofstream f(toy.dir / "sts.jsonl");
  std::ofstream d(toy.dir / "sts_dev.jsonl");
  const char* words[] = {"good", "great", "fine", "bad", "awful", "poor"};
  for (int i = 0; i < 60; ++i) {
    nlohmann::json j = {{"text", std::string("the movie was ") + words[i % 6]},
                        {"text_pair", std::string("a film ") + words[(i / 6) % 6]},
                        {"label", (i % 6 < 3 ? 0.8 : 0.2) + ((i / 6) % 6 < 3 ? 0.15 : -0.15)}};
    (i % 5 == 0 ? d : f) << j.dump() << "\n";
  }
  f.close();
  d.close();
  Result r = train_stdout(toy.base("sts") + " --train " + toy.p("sts.jsonl") + " --dev " + toy.p("sts_dev.jsonl") +
                          " --test " + toy.p("sts_dev.jsonl") + " --steps 60 --lr 5e-3 --eval-every 20");
  INFO(r.out);
  REQUIRE(r.code == 0);
  auto pos = r.out.find("test_pearson=");
  REQUIRE(pos != std::string::npos);
  CHECK(std::stod(r.out.substr(pos + 13)) > 0.9);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(toy.dir / "sts" / "model" / "config.json"));
  CHECK(config["problem_type"] == "regression");
  CHECK(config["id2label"].size() == 1);
}

TEST_CASE("train: bad input is a clear error with exit code 1, never a crash", "[cli][train]") {
  Toy toy;
  std::ofstream(toy.dir / "nolabel.tsv") << "sentence\tscore\ngood .\t1\n";
  std::ofstream(toy.dir / "odd_dev.tsv") << "sentence\tlabel\ngood .\tpos\nbad .\tmeh\n";
  const std::string dev = " --dev " + toy.p("dev.tsv");
  struct Case {
    std::string args, message;
    int code;
  } cases[] = {
      {toy.base("e1") + " --train " + toy.p("nolabel.tsv") + dev, "no 'label' column", 1},
      {toy.base("e2") + " --train " + toy.p("train.tsv") + " --dev " + toy.p("odd_dev.tsv"), "unknown label 'meh'", 1},
      {toy.base("e3") + " --train " + toy.p("missing.tsv") + dev, "cannot open", 1},
      {toy.base("e4") + " --train " + toy.p("train.tsv") + dev + " --seq-len 1000", "exceeds the model's max_position", 1},
      {"classify --out x --train a --dev b", "exactly one of --model DIR or --config", 1},
      {"classify --config nope --tokenizer " + toy.p("tok") + " --out x --train " + toy.p("train.tsv") + dev,
       "'nope' is neither small", 1},
      {"classify --config small --out x", "is required", 2},
      {"regress", "unknown task 'regress'", 2},
      {"mlm --config small --tokenizer " + toy.p("tok") + " --out x", "at least one --corpus", 1},
  };
  for (const auto& c : cases) {
    Result r = train(c.args);
    INFO(c.args << "\n" << r.out);
    CHECK_FALSE(r.signaled);
    CHECK(r.code == c.code);
    CHECK_THAT(r.out, Catch::Contains(c.message));
  }
  Result h = train("classify --help");
  CHECK(h.code == 0);
  CHECK_THAT(h.out, Catch::Contains("--early-stop") && Catch::Contains("--grad-accum"));
}
