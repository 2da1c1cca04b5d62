// fill-mask, classify and embed as a user runs them: fill-mask reproduces the trained-mlm reference
// probes (HF's top-5 tokens and probabilities); classify and embed agree with a naive computation
// through the library on each input alone (the commands never pad); usage errors exit non-zero with
// a clear message. The options added for HF's pipelines are tested in test_pipeline_cli.cpp.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/run_alone.h"
#include "tests/test_util.h"
#include "tokenizer/wordpiece.h"

namespace fs = std::filesystem;
using nlohmann::json;
using tz::test::run_alone;

namespace {

struct Result {
  int code;
  std::string out;  // stdout only (stderr goes to `err`)
  std::string err;
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Result run(const std::vector<std::string>& args) {
  fs::path err_file = fs::temp_directory_path() / ("tz_cli_inference_stderr.txt." + std::to_string(getpid()));
  std::string cmd = std::string(TZ_CLI_PATH);
  for (const auto& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  cmd += " 2>";
  cmd += err_file.string();
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), f)) > 0) out.append(buf.data(), n);
  int status = pclose(f);
  std::ifstream e(err_file);
  std::stringstream ss;
  ss << e.rdbuf();
  fs::remove(err_file);
  return {WEXITSTATUS(status), out, ss.str()};
}

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

json read_json(const fs::path& p) {
  std::ifstream f(p);
  return json::parse(f);
}

const std::vector<std::string> kTexts{"the cat sat on the mat", "hello world", "a somewhat longer sentence about nothing at all"};

}  // namespace

TEST_CASE("fill-mask reproduces the trained-mlm reference probes", "[cli][reference]") {
  if (!tz::test::have_reference("convbert/trained-mlm")) return;
  fs::path dir = tz::test::reference_dir() / "convbert" / "trained-mlm";
  json manifest = read_json(dir / "manifest.json");
  const double atol = manifest["tolerance"]["atol"].get<double>(), rtol = manifest["tolerance"]["rtol"].get<double>();
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);

  // Mask the token at mask_index (counted with [CLS] at 0) by replacing its span of the original text.
  std::vector<std::string> args{"fill-mask", "--model", dir.string(), "--json", "--top-k", "5"};  // texts from args[6]
  const auto& probes = manifest["probes"];
  REQUIRE(probes.size() == 10);
  for (const auto& probe : probes) {
    std::string text = probe["text"].get<std::string>();
    auto enc = tok.encode(text);
    std::size_t at = probe["mask_index"].get<std::size_t>();
    REQUIRE(at < enc.size());
    REQUIRE(enc.tokens[at] == probe["masked_word"].get<std::string>());
    const auto& span = enc.offsets[at];
    args.push_back(text.substr(0, span.begin) + "[MASK]" + text.substr(span.end));
  }
  Result r = run(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == probes.size());
  // HF's probes ran as one padded batch [10, T_ref]; the command runs each text alone, as HF's pipeline
  // does. Padding moves ConvBERT's probabilities by up to ~1e-3 here: the unpadded probe matches HF
  // to the manifest's tolerance, the others to 2e-3, and every top-5 token is HF's.
  const int64_t T_ref = tz::io::load_safetensors((dir / "expected.safetensors").string()).at("input_ids").size(1);
  double worst = 0;
  int exact_rows = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("probe " << i << ": " << args[6 + i]);
    REQUIRE(rows[i].is_array());  // one mask: HF's list of predictions
    const auto& preds = rows[i];
    REQUIRE(preds.size() == 5);
    const bool unpadded = static_cast<int64_t>(tok.encode(probes[i]["text"].get<std::string>()).size()) == T_ref;
    exact_rows += unpadded ? 1 : 0;
    for (std::size_t k = 0; k < 5; ++k) {
      CHECK(preds[k]["token"].get<int64_t>() == probes[i]["top5_ids"][k].get<int64_t>());
      CHECK(preds[k]["token_str"].get<std::string>() == probes[i]["top5"][k][0].get<std::string>());
      double ours = preds[k]["score"].get<double>(), hf = probes[i]["top5"][k][1].get<double>();
      CHECK(std::abs(ours - hf) <= (unpadded ? atol + rtol * std::abs(hf) : 2e-3));
      if (unpadded) worst = std::max(worst, std::abs(ours - hf));
    }
  }
  CHECK(exact_rows >= 1);
  WARN("fill-mask vs HF on the unpadded probe: max |prob diff| = " << worst);

  // The table output names the tokens too.
  Result table = run({"fill-mask", "--model", dir.string(), "--top-k", "3", "the [MASK] is red ."});
  CHECK(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("[MASK] #1"));
}

TEST_CASE("fill-mask, classify, embed: clear usage errors", "[cli]") {
  for (const char* cmd : {"fill-mask", "classify", "embed", "vocab", "data"}) {
    Result h = run({cmd, "--help"});
    INFO(cmd << ": " << h.out << h.err);
    CHECK(h.code == 0);
    CHECK_THAT(h.out, Catch::Contains("usage: tensorzoo"));
  }
  Result r = run({"fill-mask", "--model", "/nonexistent/model", "a [MASK] b"});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/model"));
  r = run({"classify", "--model", "/nonexistent/model", "text"});
  CHECK(r.code != 0);
  CHECK_THAT(r.err, Catch::Contains("does not exist"));
  r = run({"embed", "--model", "x", "--pooling", "sum", "text"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--pooling must be cls, mean, max or none"));
  if (!tz::test::have_reference("convbert/tiny-masked-lm")) return;
  fs::path dir = tz::test::reference_dir() / "convbert" / "tiny-masked-lm";
  r = run({"fill-mask", "--model", dir.string(), "no mask here"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("has no [MASK]"));
  // A base-model checkpoint has no classifier: refusing beats printing random labels.
  if (!tz::test::have_reference("convbert/tiny-model")) return;
  r = run({"classify", "--model", (tz::test::reference_dir() / "convbert" / "tiny-model").string(), "text"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("no trained weights for ConvBertForSequenceClassification"));
}

TEST_CASE("classify matches softmax / sigmoid / raw scores computed through the library", "[cli][reference]") {
  for (const char* name : {"tiny-seqcls", "seqcls-multilabel", "seqcls-regression"}) {
    if (!tz::test::have_reference(std::string("convbert/") + name)) return;
    fs::path dir = tz::test::reference_dir() / "convbert" / name;
    INFO(name);
    auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
    tz::models::LoadOptions quiet;
    quiet.verbose = false;
    auto model = tz::models::from_pretrained(dir.string(), quiet);
    model->eval();
    const auto& cfg = model->config();
    const int64_t L = cfg.num_labels();
    // HF's default function: none for regression, sigmoid for multi-label or one label, else softmax.
    std::string problem = cfg.problem_type.value_or(L == 1 ? "one label" : "single_label_classification");

    std::vector<std::string> args{"classify", "--model", dir.string(), "--json", "--top-k", "all"};
    args.insert(args.end(), kTexts.begin(), kTexts.end());
    Result r = run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto rows = jsonl(r.out);
    REQUIRE(rows.size() == kTexts.size());
    std::vector<std::string> best_args{"classify", "--model", dir.string(), "--json"};
    best_args.insert(best_args.end(), kTexts.begin(), kTexts.end());
    auto best_rows = jsonl(run(best_args).out);
    REQUIRE(best_rows.size() == kTexts.size());
    for (std::size_t b = 0; b < kTexts.size(); ++b) {
      tz::Tensor logits = tz::raw::contiguous(run_alone(*model, tok.encode(kTexts[b])).logits);
      std::vector<double> expect;
      for (int64_t l = 0; l < L; ++l) expect.push_back(logits.at({0, l}));
      if (problem == "single_label_classification") {
        double sum = 0;
        for (double& z : expect) sum += (z = std::exp(z));
        for (double& z : expect) z /= sum;
      } else if (problem != "regression") {
        for (double& z : expect) z = 1 / (1 + std::exp(-z));
      }
      // --top-k all: every label, best first.
      REQUIRE(rows[b].size() == static_cast<std::size_t>(L));
      for (std::size_t k = 0; k < rows[b].size(); ++k) {
        const std::string label = rows[b][k]["label"];
        const std::size_t l = static_cast<std::size_t>(cfg.label_id(label));
        CHECK(rows[b][k]["score"].get<double>() == Approx(expect[l]).margin(1e-5));
        if (k > 0) CHECK(rows[b][k - 1]["score"].get<double>() >= rows[b][k]["score"].get<double>());
      }
      // The default record: the best label alone, as HF's {label, score}.
      std::size_t best = static_cast<std::size_t>(std::max_element(expect.begin(), expect.end()) - expect.begin());
      CHECK(best_rows[b]["label"] == cfg.id2label[best]);
      CHECK(best_rows[b]["score"].get<double>() == Approx(expect[best]).margin(1e-5));
    }
    // Batches of one give one row per text as well (and the table format a header + rows).
    std::vector<std::string> small{"classify", "--model", dir.string(), "--batch-size", "1"};
    small.insert(small.end(), kTexts.begin(), kTexts.end());
    Result t = run(small);
    CHECK(t.code == 0);
    CHECK(std::count(t.out.begin(), t.out.end(), '\n') == static_cast<long>(kTexts.size() + 1));
  }
}

TEST_CASE("embed: mean and [CLS] pooling agree with the library", "[cli][reference]") {
  if (!tz::test::have_reference("convbert/trained-mlm")) return;
  fs::path dir = tz::test::reference_dir() / "convbert" / "trained-mlm";
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  tz::models::LoadOptions base;
  base.architecture = "ConvBertModel";
  base.verbose = false;
  auto model = tz::models::from_pretrained(dir.string(), base);
  model->eval();
  std::vector<tz::tokenizer::Encoding> enc;
  std::vector<tz::Tensor> h;  // each text's own last_hidden_state [1, T, H]
  for (const auto& t : kTexts) {
    enc.push_back(tok.encode(t));
    h.push_back(tz::raw::contiguous(run_alone(*model, enc.back()).last_hidden_state));
  }
  const int64_t H = h[0].size(2);

  fs::path out = fs::temp_directory_path() / ("tz_cli_embed.safetensors." + std::to_string(getpid()));
  for (std::string pooling : {"mean", "cls"}) {
    INFO(pooling);
    std::vector<std::string> args{"embed", "--model", dir.string(), "--pooling", pooling, "--format", "safetensors",
                                  "--output", out.string()};
    args.insert(args.end(), kTexts.begin(), kTexts.end());
    Result r = run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto ck = tz::io::load_safetensors(out.string());
    const tz::Tensor& e = ck.tensors.at("embeddings");
    REQUIRE(e.shape() == tz::Shape{static_cast<int64_t>(kTexts.size()), H});
    double worst = 0;
    for (int64_t b = 0; b < static_cast<int64_t>(kTexts.size()); ++b)
      for (int64_t d = 0; d < H; ++d) {
        const tz::Tensor& hb = h[static_cast<std::size_t>(b)];
        double expect = 0;
        if (pooling == "cls") {
          expect = hb.at({0, 0, d});
        } else {
          const int64_t T = hb.size(1);
          for (int64_t t = 0; t < T; ++t) expect += hb.at({0, t, d});
          expect /= static_cast<double>(T);
        }
        worst = std::max(worst, std::abs(e.at({b, d}) - expect));
      }
    CHECK(worst < 1e-5);
  }
  fs::remove(out);

  // JSONL with --normalize: unit vectors, one line per text.
  std::vector<std::string> args{"embed", "--model", dir.string(), "--normalize"};
  args.insert(args.end(), kTexts.begin(), kTexts.end());
  Result r = run(args);
  REQUIRE(r.code == 0);
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == kTexts.size());
  for (const auto& row : rows) {
    REQUIRE(row["embedding"].size() == static_cast<std::size_t>(H));
    double norm = 0;
    for (const auto& v : row["embedding"]) norm += v.get<double>() * v.get<double>();
    CHECK(std::sqrt(norm) == Approx(1.0).margin(1e-5));
  }
}

TEST_CASE("classify --pair reads a<TAB>b lines and matches encode_pair through the library", "[cli][reference]") {
  if (!tz::test::have_reference("convbert/tiny-seqcls")) return;
  fs::path dir = tz::test::reference_dir() / "convbert" / "tiny-seqcls";
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  tz::models::LoadOptions quiet;
  quiet.verbose = false;
  auto model = tz::models::from_pretrained(dir.string(), quiet);
  model->eval();
  const std::vector<std::pair<std::string, std::string>> pairs{{"is it raining", "yes it is"},
                                                               {"a question", "an answer that is longer"}};
  std::vector<tz::Tensor> logits;  // each pair alone
  for (const auto& [a, b] : pairs) logits.push_back(run_alone(*model, tok.encode_pair(a, b)).logits);
  const int64_t B = 2;
  fs::path file = fs::temp_directory_path() / ("tz_cli_pairs.tsv." + std::to_string(getpid()));
  {
    std::ofstream f(file);
    for (const auto& [a, b] : pairs) f << a << "\t" << b << "\r\n";
  }
  Result r = run({"classify", "--model", dir.string(), "--pair", "--json", "--return-all-scores", "--file", file.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == 2);
  for (int64_t b = 0; b < B; ++b) {
    const tz::Tensor& z = logits[static_cast<std::size_t>(b)];
    double z0 = z.at({0, 0}), z1 = z.at({0, 1}), z2 = z.at({0, 2});
    double m = std::max({z0, z1, z2});
    double p0 = std::exp(z0 - m) / (std::exp(z0 - m) + std::exp(z1 - m) + std::exp(z2 - m));
    const auto& row = rows[static_cast<std::size_t>(b)];  // --return-all-scores: label order
    CHECK(row[0]["label"] == "LABEL_0");
    CHECK(row[0]["score"].get<double>() == Approx(p0).margin(1e-5));
  }
  Result odd = run({"classify", "--model", dir.string(), "--pair", "only one"});
  CHECK(odd.code == 2);
  CHECK_THAT(odd.err, Catch::Contains("even number"));
  fs::remove(file);
}

TEST_CASE("--plain-path gives the graph-free path's scores through the op-by-op path", "[cli][reference]") {
  if (!tz::test::have_reference("convbert/tiny-seqcls")) return;
  const std::string dir = (tz::test::reference_dir() / "convbert" / "tiny-seqcls").string();
  const std::vector<std::string> texts{"the cat sat on the mat", "a much longer sentence about nothing much at all"};
  Result fast = run({"classify", "--model", dir, "--json", "--return-all-scores", texts[0], texts[1]});
  Result plain = run({"classify", "--model", dir, "--json", "--return-all-scores", "--plain-path", texts[0], texts[1]});
  INFO(fast.err << plain.err);
  REQUIRE(fast.code == 0);
  REQUIRE(plain.code == 0);
  auto a = jsonl(fast.out), b = jsonl(plain.out);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t l = 0; l < a[i].size(); ++l)
      CHECK(b[i][l]["score"].get<double>() == Approx(a[i][l]["score"].get<double>()).margin(1e-5));
  Result help = run({"embed", "--help"});
  CHECK_THAT(help.out, Catch::Contains("--plain-path"));
}

TEST_CASE("--precision on every inference command; a bad value is refused by name", "[cli]") {
  for (const char* command : {"run", "classify", "embed", "tag", "qa", "choose", "fill-mask", "bench", "quantize"}) {
    Result help = run({command, "--help"});
    INFO(command);
    CHECK_THAT(help.out, Catch::Contains("--precision") && Catch::Contains("f32|bf16|int8"));
  }
  Result bad = run({"classify", "--model", "/nonexistent", "--precision", "fp16", "text"});
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Catch::Contains("--precision: 'fp16' is not one of f32, bf16, int8"));
  Result none = run({"quantize", "/nonexistent", "/tmp/out"});
  CHECK(none.code != 0);
  CHECK_THAT(none.err, Catch::Contains("--precision int8 or bf16 is required"));
}

TEST_CASE("quantize writes a directory that classify runs as stored, like --precision on the float one",
          "[cli][reference]") {
  if (!tz::test::have_reference("convbert/tiny-seqcls")) return;
  const std::string dir = (tz::test::reference_dir() / "convbert" / "tiny-seqcls").string();
  tz::test::TempDir tmp("quantize_cli");
  const std::vector<std::string> texts{"the cat sat on the mat", "a much longer sentence about nothing much at all"};
  Result f32 = run({"classify", "--model", dir, "--json", texts[0], texts[1]});
  REQUIRE(f32.code == 0);
  for (const char* precision : {"int8", "bf16"}) {
    INFO(precision);
    const std::string out = tmp / precision;
    Result q = run({"quantize", dir, out, "--precision", precision});
    INFO(q.err);
    REQUIRE(q.code == 0);
    CHECK(fs::exists(fs::path(out) / "vocab.txt"));
    Result stored = run({"classify", "--model", out, "--json", texts[0], texts[1]});
    Result on_the_fly = run({"classify", "--model", dir, "--json", "--precision", precision, texts[0], texts[1]});
    INFO(stored.err << on_the_fly.err);
    REQUIRE(stored.code == 0);
    REQUIRE(on_the_fly.code == 0);
    CHECK(stored.out == on_the_fly.out);
    CHECK(stored.out != f32.out);  // the dense layers did run in low precision
    // The scores are probabilities: low precision moves them, but not far (docs/precision.md).
    auto a = jsonl(stored.out), b = jsonl(f32.out);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      for (const auto& [label, score] : b[i]["scores"].items())
        CHECK(a[i]["scores"][label].get<double>() == Approx(score.get<double>()).margin(0.1));
  }
}
