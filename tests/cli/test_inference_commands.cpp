// fill-mask, classify and embed as a user runs them: fill-mask reproduces the trained-mlm reference
// probes (HF's top-5 tokens and probabilities); classify and embed agree with a naive computation
// through the library on the same batch; usage errors exit non-zero with a clear message.
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
#include "tests/test_util.h"
#include "tokenizer/wordpiece.h"

namespace fs = std::filesystem;
using nlohmann::json;

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

/// The same batch the commands build: special tokens, padding to the longest.
tz::models::Inputs batch_inputs(const tz::tokenizer::WordPiece& tok, const std::vector<std::string>& texts,
                                  std::vector<tz::tokenizer::Encoding>* encodings = nullptr) {
  tz::tokenizer::EncodeOptions o;
  o.padding = tz::tokenizer::Padding{};
  auto enc = tok.encode_batch(texts, o);
  int64_t B = static_cast<int64_t>(enc.size()), T = static_cast<int64_t>(enc[0].size());
  std::vector<int64_t> ids, mask, types;
  for (const auto& e : enc) {
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    types.insert(types.end(), e.type_ids.begin(), e.type_ids.end());
  }
  tz::models::Inputs in;
  in.input_ids = tz::raw::from_vector(ids, {B, T});
  in.attention_mask = tz::raw::from_vector(mask, {B, T});
  in.token_type_ids = tz::raw::from_vector(types, {B, T});
  if (encodings) *encodings = enc;
  return in;
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
  std::vector<std::string> args{"fill-mask", "--model", dir.string(), "--json", "--top-k", "5"};
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
  double worst = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    INFO("probe " << i << ": " << rows[i]["text"]);
    REQUIRE(rows[i]["masks"].size() == 1);
    CHECK(rows[i]["masks"][0]["position"].get<std::size_t>() == probes[i]["mask_index"].get<std::size_t>());
    const auto& preds = rows[i]["masks"][0]["predictions"];
    REQUIRE(preds.size() == 5);
    for (std::size_t k = 0; k < 5; ++k) {
      CHECK(preds[k]["id"].get<int64_t>() == probes[i]["top5_ids"][k].get<int64_t>());
      CHECK(preds[k]["token"].get<std::string>() == probes[i]["top5"][k][0].get<std::string>());
      double ours = preds[k]["score"].get<double>(), hf = probes[i]["top5"][k][1].get<double>();
      CHECK(std::abs(ours - hf) <= atol + rtol * std::abs(hf));
      worst = std::max(worst, std::abs(ours - hf));
    }
  }
  WARN("fill-mask vs HF: max |prob diff| = " << worst);

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
  r = run({"embed", "--model", "x", "--pooling", "max", "text"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--pooling must be mean or cls"));
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
    tz::Tensor logits;
    {
      tz::NoGradGuard g;
      logits = tz::raw::contiguous(model->forward(batch_inputs(tok, kTexts)).logits);
    }
    const auto& cfg = model->config();
    const int64_t L = cfg.num_labels();
    std::string problem = cfg.problem_type.value_or(L == 1 ? "regression" : "single_label_classification");

    std::vector<std::string> args{"classify", "--model", dir.string(), "--json"};
    args.insert(args.end(), kTexts.begin(), kTexts.end());
    Result r = run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto rows = jsonl(r.out);
    REQUIRE(rows.size() == kTexts.size());
    for (std::size_t b = 0; b < kTexts.size(); ++b) {
      CHECK(rows[b]["text"] == kTexts[b]);
      std::vector<double> expect;
      for (int64_t l = 0; l < L; ++l) expect.push_back(logits.at({static_cast<int64_t>(b), l}));
      if (problem == "single_label_classification") {
        double sum = 0;
        for (double& z : expect) sum += (z = std::exp(z));
        for (double& z : expect) z /= sum;
      } else if (problem == "multi_label_classification") {
        for (double& z : expect) z = 1 / (1 + std::exp(-z));
      }
      if (problem == "regression") {
        CHECK(rows[b]["score"].get<double>() == Approx(expect[0]).margin(1e-5));
        continue;
      }
      std::size_t best = static_cast<std::size_t>(std::max_element(expect.begin(), expect.end()) - expect.begin());
      CHECK(rows[b]["label"] == cfg.id2label[best]);
      CHECK(rows[b]["score"].get<double>() == Approx(expect[best]).margin(1e-5));
      for (int64_t l = 0; l < L; ++l)
        CHECK(rows[b]["scores"][cfg.id2label[static_cast<std::size_t>(l)]].get<double>() ==
              Approx(expect[static_cast<std::size_t>(l)]).margin(1e-5));
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
  tz::Tensor h;
  {
    tz::NoGradGuard g;
    h = tz::raw::contiguous(model->forward(batch_inputs(tok, kTexts, &enc)).last_hidden_state);
  }
  const int64_t T = h.size(1), H = h.size(2);

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
        double expect = 0;
        if (pooling == "cls") {
          expect = h.at({b, 0, d});
        } else {
          int n = 0;
          for (int64_t t = 0; t < T; ++t)
            if (enc[static_cast<std::size_t>(b)].attention_mask[static_cast<std::size_t>(t)]) {
              expect += h.at({b, t, d});
              ++n;
            }
          expect /= n;
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
  tz::tokenizer::EncodeOptions o;
  o.padding = tz::tokenizer::Padding{};
  auto enc = tok.encode_batch_pairs(pairs, o);
  std::vector<int64_t> ids, mask, types;
  for (const auto& e : enc) {
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    types.insert(types.end(), e.type_ids.begin(), e.type_ids.end());
  }
  const int64_t B = 2, T = static_cast<int64_t>(enc[0].size());
  tz::models::Inputs in;
  in.input_ids = tz::raw::from_vector(ids, {B, T});
  in.attention_mask = tz::raw::from_vector(mask, {B, T});
  in.token_type_ids = tz::raw::from_vector(types, {B, T});
  tz::Tensor logits;
  {
    tz::NoGradGuard g;
    logits = model->forward(in).logits;
  }
  fs::path file = fs::temp_directory_path() / ("tz_cli_pairs.tsv." + std::to_string(getpid()));
  {
    std::ofstream f(file);
    for (const auto& [a, b] : pairs) f << a << "\t" << b << "\r\n";
  }
  Result r = run({"classify", "--model", dir.string(), "--pair", "--json", "--file", file.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == 2);
  for (int64_t b = 0; b < B; ++b) {
    CHECK(rows[static_cast<std::size_t>(b)]["text_pair"] == pairs[static_cast<std::size_t>(b)].second);
    double z0 = logits.at({b, 0}), z1 = logits.at({b, 1}), z2 = logits.at({b, 2});
    double m = std::max({z0, z1, z2});
    double p0 = std::exp(z0 - m) / (std::exp(z0 - m) + std::exp(z1 - m) + std::exp(z2 - m));
    CHECK(rows[static_cast<std::size_t>(b)]["scores"]["LABEL_0"].get<double>() == Approx(p0).margin(1e-5));
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
  Result fast = run({"classify", "--model", dir, "--json", texts[0], texts[1]});
  Result plain = run({"classify", "--model", dir, "--json", "--plain-path", texts[0], texts[1]});
  INFO(fast.err << plain.err);
  REQUIRE(fast.code == 0);
  REQUIRE(plain.code == 0);
  auto a = jsonl(fast.out), b = jsonl(plain.out);
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (const auto& [label, score] : a[i]["scores"].items())
      CHECK(b[i]["scores"][label].get<double>() == Approx(score.get<double>()).margin(1e-5));
  Result help = run({"embed", "--help"});
  CHECK_THAT(help.out, Catch::Contains("--plain-path"));
}
