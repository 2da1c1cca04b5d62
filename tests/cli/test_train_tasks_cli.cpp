// `tensorzoo train token-cls | qa | multiple-choice` as a user runs them, on a tiny model (hidden 32,
// 2 layers): each head learns a trivially learnable toy task (dev/test metric near its maximum, the
// test metric printed last, the documented files written), and bad input gives a clear error.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/cli/run_cli.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
struct Result {
  int code;
  std::string out;
};
Result run(const std::string& args, bool with_stderr) {
  int code = 0;
  std::string out = tz::test::capture_command(
      std::string(TZ_CLI_PATH) + " train " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"), &code);
  return Result{code, out};
}
std::string last_line(const std::string& s) {
  size_t end = s.size() && s.back() == '\n' ? s.size() - 1 : s.size();
  size_t start = s.rfind('\n', end - 1);
  return s.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1));
}
double value_of(const std::string& line) { return std::stod(line.substr(line.find('=') + 1)); }

// A small deterministic generator, so that the toy data never changes.
struct Lcg {
  uint64_t s;
  size_t operator()(size_t n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>((s >> 33) % n);
  }
};

const std::vector<std::string> kColours = {"red", "blue", "green"}, kAnimals = {"cat", "dog", "fox"},
                               kNames = {"alice", "bob", "carol"}, kFiller = {"the", "a", "saw", "and", "near", "."};

struct Toy {
  fs::path dir = fs::temp_directory_path() / ("tz_train_tasks_cli_" + std::to_string(::getpid()));
  Toy() {
    fs::remove_all(dir);
    fs::create_directories(dir / "tok");
    std::ofstream vocab(dir / "tok" / "vocab.txt");
    for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "?", "yes", "no", "dark", "##ish"})
      vocab << t << "\n";
    for (const auto* list : {&kColours, &kAnimals, &kNames, &kFiller})
      for (const auto& w : *list) vocab << w << "\n";
    vocab.close();
    json config = {{"hidden_size", 32},        {"embedding_size", 32},       {"num_hidden_layers", 2},
                   {"num_attention_heads", 4}, {"intermediate_size", 64},    {"max_position_embeddings", 64},
                   {"conv_kernel_size", 3},    {"hidden_dropout_prob", 0.0}, {"attention_probs_dropout_prob", 0.0},
                   {"model_type", "convbert"}};
    std::ofstream(dir / "config.json") << config.dump();
  }
  ~Toy() { fs::remove_all(dir); }
  std::string p(const std::string& name) const { return (dir / name).string(); }
  std::string base(const std::string& task, const std::string& out) const {
    return task + " --config " + p("config.json") + " --tokenizer " + p("tok") + " --out " + p(out) +
           " --threads 1 --quiet --warmup 5";
  }
};

// Token classification: colours (optionally "dark red", two words; "reddish", two pieces) are COL,
// animals ANI, the rest O.
void write_tagging(const fs::path& path, int n, uint64_t seed) {
  Lcg r{seed};
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    json words = json::array(), tags = json::array();
    const size_t len = 4 + r(5);
    for (size_t k = 0; k < len; ++k) {
      switch (r(4)) {
        case 0:
          if (r(2)) words.push_back("dark"), tags.push_back("B-COL"), words.push_back(kColours[r(3)]), tags.push_back("I-COL");
          else words.push_back(kColours[r(3)] + (r(2) ? "ish" : "")), tags.push_back("B-COL");
          break;
        case 1: words.push_back(kAnimals[r(3)]), tags.push_back("B-ANI"); break;
        default: words.push_back(kFiller[r(kFiller.size())]), tags.push_back("O");
      }
    }
    f << json{{"tokens", words}, {"ner_tags", tags}}.dump() << "\n";
  }
}

// QA: the context names one person among filler words; "who ?" asks for that name. Contexts are
// longer than one --max-length window, so the windows and the [CLS] targets are exercised.
void write_qa(const fs::path& path, int n, uint64_t seed) {
  Lcg r{seed};
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    const size_t len = 14 + r(14), at = r(len);
    std::string context, answer = kNames[r(3)];
    size_t answer_start = 0;
    for (size_t k = 0; k < len; ++k) {
      if (!context.empty()) context += " ";
      if (k == at) answer_start = context.size(), context += answer;
      else context += (r(2) ? kFiller : kAnimals)[r(3)];
    }
    std::string id = "q";
    id += std::to_string(i);
    f << json{{"id", id}, {"question", "who ?"}, {"context", context},
              {"answers", {{"text", {answer}}, {"answer_start", {answer_start}}}}}.dump() << "\n";
  }
}

// Multiple choice: the right ending is the one saying "yes".
void write_choices(const fs::path& path, int n, uint64_t seed) {
  Lcg r{seed};
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    const size_t label = r(4);
    json endings = json::array();
    for (size_t k = 0; k < 4; ++k) {
      std::string ending = kAnimals[r(3)];
      ending.append(k == label ? " yes " : " no ").append(kFiller[r(3)]);
      endings.push_back(ending);
    }
    std::string context = "the";
    context.append(" ").append(kAnimals[r(3)]).append(" saw a ").append(kColours[r(3)]);
    f << json{{"context", context}, {"endings", endings}, {"label", label}}.dump() << "\n";
  }
}
}  // namespace

TEST_CASE("train token-cls learns a toy tagging task; seqeval F1 on test is printed last", "[cli][train]") {
  Toy toy;
  write_tagging(toy.dir / "train.jsonl", 96, 1);
  write_tagging(toy.dir / "dev.jsonl", 24, 2);
  write_tagging(toy.dir / "test.jsonl", 24, 3);
  Result r = run(toy.base("token-cls", "tc") + " --train " + toy.p("train.jsonl") + " --dev " + toy.p("dev.jsonl") +
                     " --test " + toy.p("test.jsonl") +
                     " --steps 80 --batch-size 16 --seq-len 32 --lr 1e-2 --eval-every 40",
                 false);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string last = last_line(r.out);
  REQUIRE(last.rfind("test_f1=", 0) == 0);
  CHECK(value_of(last) > 0.95);
  CHECK(r.out.find("test_accuracy=") != std::string::npos);
  CHECK(r.out.find("test_precision=") != std::string::npos);
  json config = json::parse(std::ifstream(toy.dir / "tc" / "model" / "config.json"));
  CHECK(config["architectures"][0] == "ConvBertForTokenClassification");
  CHECK(config["id2label"] == json({{"0", "B-ANI"}, {"1", "B-COL"}, {"2", "I-COL"}, {"3", "O"}}));
  CHECK(fs::exists(toy.dir / "tc" / "test_metrics.json"));
  CHECK(fs::exists(toy.dir / "tc" / "loss.svg"));
  // The saved model tags new text through `tensorzoo tag`.
  FILE* f = popen((std::string(TZ_CLI_PATH) + " tag --model " + toy.p("tc/model") + " \"the dark blue fox\" 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  std::string tagged(buf.data(), fread(buf.data(), 1, buf.size(), f));
  CHECK(pclose(f) == 0);
  CHECK(tagged.find("COL") != std::string::npos);
  CHECK(tagged.find("ANI") != std::string::npos);
}

TEST_CASE("train qa learns to point at the name across doc_stride windows", "[cli][train]") {
  Toy toy;
  write_qa(toy.dir / "train.jsonl", 128, 4);
  write_qa(toy.dir / "dev.jsonl", 24, 5);
  write_qa(toy.dir / "test.jsonl", 24, 6);
  Result r = run(toy.base("qa", "qa") + " --train " + toy.p("train.jsonl") + " --dev " + toy.p("dev.jsonl") +
                     " --test " + toy.p("test.jsonl") +
                     " --max-length 20 --doc-stride 6 --steps 120 --batch-size 16 --lr 1e-2 --eval-every 60",
                 true);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string last = last_line(r.out);
  REQUIRE(last.rfind("test_f1=", 0) == 0);
  CHECK(value_of(last) > 90);
  auto j = json::parse(std::ifstream(toy.dir / "qa" / "test_metrics.json"));
  CHECK(j.at("test_exact_match").get<double>() > 90);
  CHECK(json::parse(std::ifstream(toy.dir / "qa" / "model" / "config.json"))["architectures"][0] ==
        "ConvBertForQuestionAnswering");
}

TEST_CASE("train multiple-choice learns a toy choice task", "[cli][train]") {
  Toy toy;
  write_choices(toy.dir / "train.jsonl", 96, 7);
  write_choices(toy.dir / "dev.jsonl", 24, 8);
  write_choices(toy.dir / "test.jsonl", 24, 9);
  Result r = run(toy.base("multiple-choice", "mc") + " --train " + toy.p("train.jsonl") + " --dev " +
                     toy.p("dev.jsonl") + " --test " + toy.p("test.jsonl") +
                     " --steps 80 --batch-size 8 --seq-len 16 --lr 1e-2 --eval-every 40",
                 false);
  INFO(r.out);
  REQUIRE(r.code == 0);
  const std::string last = last_line(r.out);
  REQUIRE(last.rfind("test_accuracy=", 0) == 0);
  CHECK(value_of(last) > 0.95);
  CHECK(json::parse(std::ifstream(toy.dir / "mc" / "model" / "config.json"))["architectures"][0] ==
        "ConvBertForMultipleChoice");
}

TEST_CASE("train token-cls / qa / multiple-choice: --stop-after then --resume gives the uninterrupted run", "[cli][train]") {
  Toy toy;
  // Dropout on, so the restored generators matter; evaluations and checkpoints mid-run.
  json config = json::parse(std::ifstream(toy.dir / "config.json"));
  config["hidden_dropout_prob"] = 0.1;
  config["attention_probs_dropout_prob"] = 0.1;
  std::ofstream(toy.dir / "config.json") << config.dump();
  write_tagging(toy.dir / "tags.jsonl", 40, 1);
  write_qa(toy.dir / "qa.jsonl", 40, 2);
  write_choices(toy.dir / "mc.jsonl", 40, 3);
  const std::vector<std::pair<std::string, std::string>> tasks = {
      {"token-cls", "tags.jsonl --seq-len 32"}, {"qa", "qa.jsonl --max-length 20 --doc-stride 6"},
      {"multiple-choice", "mc.jsonl --seq-len 16"}};
  auto metrics = [&](const std::string& out) {  // metrics.jsonl without the timing fields
    std::vector<json> records;
    std::ifstream in(toy.dir / out / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line);
      j.erase("tokens_per_s");
      records.push_back(j);
    }
    return records;
  };
  auto bytes = [&](const std::string& file) {
    std::ifstream in(toy.dir / file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const auto& [task, data] : tasks) {
    const std::string args = " --train " + toy.p(data) + " --dev " + toy.p(data) +
                             " --steps 10 --batch-size 8 --lr 5e-3 --eval-every 3 --save-every 2 --log-every 1";
    INFO(task);
    REQUIRE(run(toy.base(task, task + "-straight") + args, true).code == 0);
    Result stopped = run(toy.base(task, task + "-resumed") + args + " --stop-after 5", false);
    REQUIRE(stopped.code == 0);
    CHECK(stopped.out.find("stopped_after=5") != std::string::npos);
    CHECK_FALSE(fs::exists(toy.dir / (task + "-resumed") / "loss.svg"));  // written at the end only
    Result resumed = run(toy.base(task, task + "-resumed") + args + " --resume", true);
    INFO(resumed.out);
    REQUIRE(resumed.code == 0);
    const auto straight = metrics(task + "-straight");
    CHECK(straight.size() >= 13);  // 10 training records and 3 evaluations
    CHECK(metrics(task + "-resumed") == straight);
    CHECK(bytes(task + "-resumed/model/model.safetensors") == bytes(task + "-straight/model/model.safetensors"));
  }
}

TEST_CASE("train token-cls / qa / multiple-choice: bad input gives a clear error", "[cli][train]") {
  Toy toy;
  write_tagging(toy.dir / "tags.jsonl", 8, 1);
  std::ofstream(toy.dir / "unknown_tag.jsonl") << R"({"tokens": ["red"], "ner_tags": ["B-XYZ"]})" << "\n";
  std::ofstream(toy.dir / "broken.jsonl") << R"({"tokens": ["red"], "ner_tags": )" << "\n";
  write_qa(toy.dir / "qa.jsonl", 4, 1);
  std::ofstream(toy.dir / "noanswer.jsonl")
      << R"({"id": "x", "question": "who ?", "context": "the cat", "answers": {"text": [], "answer_start": []}})" << "\n";
  write_choices(toy.dir / "mc.jsonl", 4, 1);
  std::ofstream(toy.dir / "three.jsonl") << R"({"context": "a", "endings": ["yes", "no", "no"], "label": 0})" << "\n";
  std::ofstream(toy.dir / "badlabel.jsonl") << R"({"context": "a", "endings": ["yes", "no", "no", "no"], "label": 7})" << "\n";

  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {toy.base("token-cls", "e1") + " --train " + toy.p("tags.jsonl") + " --dev " + toy.p("unknown_tag.jsonl"),
       "B-XYZ"},
      {toy.base("token-cls", "e2") + " --train " + toy.p("broken.jsonl") + " --dev " + toy.p("tags.jsonl"),
       "broken.jsonl"},
      {toy.base("token-cls", "e3") + " --train " + toy.p("missing.jsonl") + " --dev " + toy.p("tags.jsonl"),
       "missing.jsonl"},
      {toy.base("qa", "e4") + " --train " + toy.p("qa.jsonl") + " --dev " + toy.p("noanswer.jsonl"),
       "--version-2-with-negative"},
      {toy.base("qa", "e5") + " --train " + toy.p("qa.jsonl") + " --dev " + toy.p("qa.jsonl") + " --max-length 128 --doc-stride 16",
       "max_position_embeddings"},
      {toy.base("qa", "e6") + " --train " + toy.p("qa.jsonl") + " --dev " + toy.p("qa.jsonl") +
           " --max-length 20 --doc-stride 20",
       "--doc-stride"},
      {toy.base("multiple-choice", "e7") + " --train " + toy.p("mc.jsonl") + " --dev " + toy.p("three.jsonl") +
           " --seq-len 16",
       "3 endings"},
      {toy.base("multiple-choice", "e8") + " --train " + toy.p("mc.jsonl") + " --dev " + toy.p("badlabel.jsonl") +
           " --seq-len 16",
       "label '7'"},
      {"token-cls --train " + toy.p("tags.jsonl") + " --dev " + toy.p("tags.jsonl") + " --out " + toy.p("e9"),
       "--model DIR or --config"},
  };
  for (const auto& c : cases) {
    Result r = run(c.args + " --steps 1", true);
    INFO(c.args << "\n" << r.out);
    CHECK(r.code == 1);
    CHECK(r.out.find(c.message) != std::string::npos);
  }
}

// The fortune data sets of scripts/langtag.sh, who_said_it.sh and continuation.sh (needs the Debian
// fortune packages, which scripts/test.sh installs; skipped without them, a failure under CI):
// well-formed, deterministic, and no test text in train.
TEST_CASE("data fortunes-langtag / who / continue: well-formed, seeded, no leakage", "[cli][data]") {
  if (!tz::test::require_or_skip(fs::exists("/usr/share/games/fortunes/de"),
                                 "the Debian fortune files (TZ_PACKAGE_SETS=fortunes bash scripts/setup.sh)"))
    return;
  Toy toy;
  auto data = [&](const std::string& set, const std::string& out) {
    std::string cmd = std::string(TZ_CLI_PATH) + " data " + set + " --out " + toy.p(out) +
                      " --train-examples 200 --eval-examples 40 >/dev/null 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  };
  auto rows = [&](const std::string& file) {
    std::vector<json> r;
    std::ifstream f(toy.dir / file);
    for (std::string line; std::getline(f, line);) r.push_back(json::parse(line));
    return r;
  };
  auto slurp = [&](const std::string& file) {
    std::ifstream f(toy.dir / file);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };

  data("fortunes-langtag", "lt");
  data("fortunes-langtag", "lt2");
  CHECK(slurp("lt/train.jsonl") == slurp("lt2/train.jsonl"));
  for (const auto& r : rows("lt/test.jsonl")) {
    REQUIRE(r["tokens"].size() == r["ner_tags"].size());
    CHECK(r["ner_tags"][0].get<std::string>().rfind("B-", 0) == 0);
    for (size_t i = 1; i < r["ner_tags"].size(); ++i) {
      std::string tag = r["ner_tags"][i], prev = r["ner_tags"][i - 1];
      if (tag.rfind("I-", 0) == 0) CHECK(prev.substr(2) == tag.substr(2));  // IOB2: I- continues its span
    }
  }
  CHECK(json::parse(slurp("lt/baseline.json")).contains("baseline_majority_f1"));

  data("fortunes-who", "who");
  std::string train_contexts;
  for (const auto& r : rows("who/train.jsonl")) train_contexts += r["context"].get<std::string>() + "\n";
  for (const auto& r : rows("who/test.jsonl")) {
    const std::string context = r["context"], answer = r["answers"]["text"][0];
    const size_t start_cp = r["answers"]["answer_start"][0];
    // answer_start counts code points: convert to bytes and find the answer there.
    size_t byte = 0;
    for (size_t cp = 0; cp < start_cp; ++cp)
      do ++byte;
      while (byte < context.size() && (static_cast<unsigned char>(context[byte]) & 0xC0) == 0x80);
    CHECK(context.compare(byte, answer.size(), answer) == 0);
    std::string question = r["question"];
    const std::string quote = question.substr(10, question.size() - 12);  // Who said "..."?
    CHECK(context.find(quote) != std::string::npos);
    CHECK(train_contexts.find(quote + " ") == std::string::npos);  // the quoted fortune is not in train
  }
  const json who_baseline = json::parse(slurp("who/baseline.json"));
  CHECK(who_baseline.at("baseline_first_author_f1").get<double>() < 60);
  CHECK(who_baseline.at("baseline_quote_lookup_f1").get<double>() > 90);  // the quote is verbatim in the context

  data("fortunes-continue", "mc");
  for (const auto& r : rows("mc/test.jsonl")) {
    REQUIRE(r["endings"].size() == 4);
    CHECK(r["label"].get<int>() >= 0);
    CHECK(r["label"].get<int>() < 4);
  }

  // More training examples than long training fortunes: every pass cuts them afresh (new examples,
  // not repeats); dev and test do not depend on the number of training examples.
  std::string cmd = std::string(TZ_CLI_PATH) + " data fortunes-continue --out " + toy.p("mc-big") +
                    " --train-examples 20000 --eval-examples 40 >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::set<std::string> distinct;
  const auto big = rows("mc-big/train.jsonl");
  for (const auto& r : big) distinct.insert(r["context"].get<std::string>() + "|" + r["start"].get<std::string>() +
                                            "|" + r["endings"][r["label"].get<int>()].get<std::string>());
  CHECK(big.size() == 20000);
  CHECK(distinct.size() > 18000);  // one cut per fortune would give about 10000
  CHECK(slurp("mc-big/test.jsonl") == slurp("mc/test.jsonl"));
  CHECK(slurp("mc-big/dev.jsonl") == slurp("mc/dev.jsonl"));
}
