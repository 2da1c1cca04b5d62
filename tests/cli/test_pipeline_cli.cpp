// The options of HF's pipelines through the built `tensorzoo` binary: every option is in --help, and
// each command's JSON records equal the library (train/pipelines/) computed in this process on the
// reference models: fill-mask --targets and several masks, classify --function / --top-k /
// --return-all-scores, tag --aggregation / --ignore-labels / --stride on a model relabelled with
// B-/I- tags, qa on JSONL questions, embed --pooling none / npy output / sentence-transformers
// directories. Inputs come from arguments, --file and stdin. Every command also runs the BERT,
// ELECTRA and DistilBERT reference models (each family's head for the command) as the library does.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/registry.h"
#include "models/sentence_transformers.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/cli/run_cli.h"
#include "tests/test_util.h"
#include "train/pipelines/feature_extraction.h"
#include "train/pipelines/fill_mask.h"
#include "train/pipelines/question_answering.h"
#include "train/pipelines/text_classification.h"
#include "train/pipelines/token_classification.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Result {
  int code = 0;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

using Scratch = tz::test::TempDir;  // s / "name": a file in it

// `tensorzoo ARGS` (a shell fragment, already quoted), with `input` on stdin when not empty.
Result run(const Scratch& s, const std::string& args, const std::string& input = "") {
  std::string cmd = std::string(TZ_CLI_PATH) + " " + args + " 2>" + (s / "stderr.txt");
  if (!input.empty()) {
    std::ofstream(s / "stdin.txt") << input;
    cmd += " <" + (s / "stdin.txt");
  } else {
    cmd += " </dev/null";
  }
  Result r;
  r.out = tz::test::capture_command(cmd, &r.code);
  std::stringstream err;
  err << std::ifstream(s / "stderr.txt").rdbuf();
  r.err = err.str();
  return r;
}

std::vector<json> jsonl(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::string ref(const char* name) { return (tz::test::reference_dir() / "convbert" / name).string(); }

std::shared_ptr<tz::models::PreTrainedModel> load(const std::string& dir, const std::string& head = "") {
  tz::models::LoadOptions o;
  o.verbose = false;
  o.architecture = head;
  auto m = tz::models::from_pretrained(dir, o);
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("every pipeline option is in --help", "[cli][pipelines]") {
  Scratch s;
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands{
      {"fill-mask", {"--top-k", "--targets", "--file", "--json", "--batch-size"}},
      {"classify", {"--top-k", "--function", "--return-all-scores", "--pair", "--file", "--json"}},
      {"tag", {"--aggregation", "--ignore-labels", "--stride", "--max-length", "--file", "--json"}},
      {"qa", {"--top-k", "--max-answer-length", "--doc-stride", "--allow-no-answer", "--question", "--context", "--file",
              "--json", "--batch-size"}},
      {"embed", {"--pooling", "--normalize", "--format", "--output", "--file", "--json"}},
  };
  for (const auto& [cmd, options] : commands) {
    Result h = run(s, cmd + " --help");
    INFO(cmd);
    CHECK(h.code == 0);
    for (const auto& o : options) CHECK_THAT(h.out, Catch::Contains(o + " "));
  }
}

TEST_CASE("fill-mask: --targets (with HF's warning), several masks, stdin", "[cli][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/trained-mlm")) return;
  Scratch s;
  const std::string dir = ref("trained-mlm");
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  const std::string text = "the [MASK] sat on the mat .";
  Result r = run(s, "fill-mask --json --top-k 5 --targets cat,dog --targets xqzv --model " + dir + " " + quote(text));
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("`xqzv` does not exist in the model vocabulary. Replacing with"));
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == 1);
  tz::pipelines::FillMaskOptions opt;
  opt.top_k = 5;
  opt.targets = {"cat", "dog", "xqzv"};
  auto want = tz::pipelines::fill_mask(*model, tok, {text}, opt)[0][0];
  REQUIRE(rows[0].size() == 3);  // top_k capped at the three targets
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(rows[0][k]["token"] == want[k].token);
    CHECK(rows[0][k]["token_str"] == want[k].token_str);
    CHECK(rows[0][k]["sequence"] == want[k].sequence);
    CHECK(rows[0][k]["score"].get<double>() == Approx(want[k].score).epsilon(1e-6));
  }
  // Two masks: a list per mask; sequences keep the special tokens and the other mask, as HF.
  Result two = run(s, "fill-mask --json --top-k 2 --model " + dir, "the [MASK] sat on the [MASK] .\n");
  REQUIRE(two.code == 0);
  auto two_rows = jsonl(two.out);
  REQUIRE(two_rows.size() == 1);
  REQUIRE(two_rows[0].size() == 2);
  REQUIRE(two_rows[0][0].size() == 2);
  CHECK_THAT(two_rows[0][0][0]["sequence"].get<std::string>(), Catch::StartsWith("[CLS] the") && Catch::EndsWith("[SEP]") && Catch::Contains("[MASK]"));
  CHECK(run(s, "fill-mask --model " + dir + " --top-k 0 'a [MASK]'").code == 2);
}

TEST_CASE("classify: --function, --top-k, --return-all-scores, --file", "[cli][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/tiny-seqcls")) return;
  Scratch s;
  const std::string dir = ref("tiny-seqcls");
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  const std::vector<std::string> texts{"the cat sat", "a much longer sentence about the river"};
  std::ofstream(s / "in.txt") << texts[0] << "\n\n" << texts[1] << "\r\n";
  Result r = run(s, "classify --json --function none --top-k 2 --model " + dir + " --file " + (s / "in.txt"));
  REQUIRE(r.code == 0);
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == 2);
  auto raw = tz::pipelines::classify_texts(*model, tok, texts, {.function_to_apply = tz::pipelines::ClassificationFunction::None});
  for (std::size_t i = 0; i < 2; ++i) {
    auto want = tz::pipelines::top_labels(raw[i], 2);
    REQUIRE(rows[i].size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
      CHECK(rows[i][k]["label"] == want[k].label);
      CHECK(rows[i][k]["score"].get<double>() == Approx(want[k].score).epsilon(1e-6));  // raw logits
    }
  }
  Result all = run(s, "classify --json --return-all-scores --function sigmoid --model " + dir + " " + quote(texts[0]));
  REQUIRE(all.code == 0);
  auto all_rows = jsonl(all.out);
  REQUIRE(all_rows[0].size() == 3);
  for (std::size_t l = 0; l < 3; ++l) {
    CHECK(all_rows[0][l]["label"] == "LABEL_" + std::to_string(l));  // label order
    CHECK(all_rows[0][l]["score"].get<double>() == Approx(1 / (1 + std::exp(-raw[0][l].score))).epsilon(1e-6));
  }
  CHECK(run(s, "classify --return-all-scores --top-k 2 --model " + dir + " x").code == 2);
  Result bad = run(s, "classify --function tanh --model " + dir + " x");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--function must be sigmoid, softmax or none"));
}

TEST_CASE("tag: --aggregation, --ignore-labels and --stride on B-/I- labels", "[cli][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/tiny-token-cls")) return;
  Scratch s;
  // The tiny model with NER labels instead of LABEL_<i>.
  const fs::path dir = s.path / "ner";
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "vocab.txt", "tokenizer_config.json"})
    fs::copy_file(fs::path(ref("tiny-token-cls")) / f, dir / f);
  json config = json::parse(std::ifstream(fs::path(ref("tiny-token-cls")) / "config.json"));
  config["id2label"] = {{"0", "B-PER"}, {"1", "I-PER"}, {"2", "B-LOC"}, {"3", "I-LOC"}, {"4", "O"}};
  config["label2id"] = {{"B-PER", 0}, {"I-PER", 1}, {"B-LOC", 2}, {"I-LOC", 3}, {"O", 4}};
  std::ofstream(dir / "config.json") << config.dump();
  auto model = load(dir.string());
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  const std::string text = "John Smith lives in New York and works for a small company near the river with Mary.";

  auto check_equal = [&](const std::string& options, const tz::pipelines::TokenClassificationOptions& opt) {
    INFO(options);
    Result r = run(s, "tag --json " + options + " --model " + dir.string(), text + "\n");
    REQUIRE(r.code == 0);
    auto rows = jsonl(r.out);
    REQUIRE(rows.size() == 1);
    auto want = tz::pipelines::classify_tokens(*model, tok, {text}, opt)[0];
    REQUIRE(rows[0].size() == want.size());
    const char* key = opt.aggregation == tz::pipelines::AggregationStrategy::None ? "entity" : "entity_group";
    for (std::size_t k = 0; k < want.size(); ++k) {
      CHECK(rows[0][k][key] == want[k].entity);
      CHECK(rows[0][k]["word"] == want[k].word);
      CHECK(rows[0][k]["start"] == want[k].start);
      CHECK(rows[0][k]["end"] == want[k].end);
      CHECK(rows[0][k]["score"].get<double>() == Approx(want[k].score).epsilon(1e-6));
    }
    return rows[0];
  };
  tz::pipelines::TokenClassificationOptions opt;
  opt.aggregation = tz::pipelines::AggregationStrategy::Simple;
  auto simple = check_equal("--aggregation simple", opt);
  for (const auto& row : simple) {
    CHECK((row["entity_group"] == "PER" || row["entity_group"] == "LOC"));  // O groups are ignored
    CHECK(text.substr(row["start"], row["end"].get<std::size_t>() - row["start"].get<std::size_t>()).size() > 0);
  }
  opt.aggregation = tz::pipelines::AggregationStrategy::First;
  opt.ignore_labels = {"O", "PER"};
  auto first = check_equal("--aggregation first --ignore-labels O,PER", opt);
  for (const auto& row : first) {
    CHECK(row["entity_group"] == "LOC");
    CHECK(row["word"].get<std::string>().find("##") == std::string::npos);  // whole words
  }
  // Windows of 8 tokens overlapping by 2 still tag the whole text (its last word is "mary").
  opt.aggregation = tz::pipelines::AggregationStrategy::None;
  opt.ignore_labels = {};
  opt.max_length = 8;
  opt.stride = 2;
  auto windowed = check_equal("--ignore-labels '' --max-length 8 --stride 2", opt);
  tz::tokenizer::EncodeOptions eo;
  CHECK(windowed.size() == tok.encode(text, eo).size() - 2);
  CHECK(windowed[windowed.size() - 2]["word"] == "mary");
  opt.stride.reset();
  CHECK(check_equal("--ignore-labels '' --max-length 8", opt).size() == 6);  // truncated
  CHECK(run(s, "tag --aggregation mean --model " + dir.string() + " x").code == 2);
}

TEST_CASE("qa: JSONL questions in, one JSON record per question out, --top-k, --allow-no-answer", "[cli][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/tiny-qa")) return;
  Scratch s;
  const std::string dir = ref("tiny-qa");
  auto model = load(dir);
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  const std::vector<tz::pipelines::QAInput> inputs{
      {"Where did Mary move?", "His sister Mary moved to Paris in 1990, where she studied music."},
      {"Who lives near the river?", "John Smith lives in New York and works near the river."}};
  std::string lines;
  for (const auto& q : inputs) lines += json{{"question", q.question}, {"context", q.context}, {"id", "x"}}.dump() + "\n";
  Result r = run(s, "qa --json --top-k 2 --allow-no-answer --max-answer-length 4 --model " + dir, lines);
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto rows = jsonl(r.out);
  REQUIRE(rows.size() == 2);
  tz::pipelines::QuestionAnsweringOptions opt;
  opt.top_k = 2;
  opt.handle_impossible_answer = true;
  opt.max_answer_len = 4;
  auto want = tz::pipelines::answer_questions(*model, tok, inputs, opt);
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(rows[i].is_array());
    REQUIRE(rows[i].size() == want[i].size());
    for (std::size_t k = 0; k < want[i].size(); ++k) {
      CHECK(rows[i][k]["answer"] == want[i][k].answer);
      CHECK(rows[i][k]["start"] == want[i][k].start);
      CHECK(rows[i][k]["score"].get<double>() == Approx(want[i][k].score).epsilon(1e-6));
      // max_answer_len 4 tokens: at most 4 words here (ASCII words of one token each, or the null answer).
      std::istringstream words(rows[i][k]["answer"].get<std::string>());
      CHECK(std::distance(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>()) <= 4);
    }
  }
  Result bad = run(s, "qa --json --model " + dir, lines + "{\"question\": \"no context\"}\n");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Catch::Contains("stdin:3"));
  CHECK(run(s, "qa --model " + dir + " --question q").code == 2);  // --question needs --context
}

TEST_CASE("embed: --pooling none and max, npy output, sentence-transformers directories", "[cli][pipelines][reference]") {
  if (!tz::test::have_reference("convbert/tiny-model")) return;
  Scratch s;
  const std::string dir = ref("tiny-model");
  auto model = load(dir, "base");
  auto tok = tz::tokenizer::WordPiece::from_pretrained(dir);
  const std::vector<std::string> texts{"hello world", "the river near new york"};

  Result none = run(s, "embed --json --pooling none --model " + dir + " " + quote(texts[0]) + " " + quote(texts[1]));
  REQUIRE(none.code == 0);
  auto rows = jsonl(none.out);
  REQUIRE(rows.size() == 2);
  auto features = tz::pipelines::extract_features(*model, tok, texts);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(rows[i]["tokens"] == features[i].tokens);
    REQUIRE(rows[i]["offsets"].size() == features[i].offsets.size());
    CHECK(rows[i]["offsets"][1][0] == features[i].offsets[1].begin);
    CHECK(rows[i]["offsets"][1][1] == features[i].offsets[1].end);
    auto v = features[i].vectors.to_vector<float>();
    const std::size_t H = static_cast<std::size_t>(features[i].vectors.size(1));
    REQUIRE(rows[i]["embedding"].size() == features[i].tokens.size());
    for (std::size_t t = 0; t < rows[i]["embedding"].size(); ++t)
      CHECK(rows[i]["embedding"][t][3].get<double>() == Approx(v[t * H + 3]).margin(1e-6));
  }
  Result st_none = run(s, "embed --pooling none --format safetensors --output " + (s / "tokens.safetensors") + " --model " +
                              dir + " " + quote(texts[0]) + " " + quote(texts[1]));
  REQUIRE(st_none.code == 0);
  auto ck = tz::io::load_safetensors(s / "tokens.safetensors");
  CHECK(ck.at("lengths").to_vector<int64_t>() ==
        std::vector<int64_t>{static_cast<int64_t>(features[0].tokens.size()), static_cast<int64_t>(features[1].tokens.size())});
  CHECK(ck.at("embeddings").size(0) == ck.at("offsets").size(0));

  // --pooling max to a .npy file: numpy's header, then [N, H] float32.
  Result npy = run(s, "embed --pooling max --format npy --output " + (s / "v.npy") + " --model " + dir + " " +
                          quote(texts[0]) + " " + quote(texts[1]));
  REQUIRE(npy.code == 0);
  std::stringstream bytes;
  bytes << std::ifstream(s / "v.npy", std::ios::binary).rdbuf();
  const std::string b = bytes.str();
  REQUIRE(b.size() > 10);
  const std::size_t header = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
  const int64_t H = model->config().hidden_size;
  CHECK_THAT(b.substr(10, header), Catch::Contains("'shape': (2, " + std::to_string(H) + ")"));
  REQUIRE(b.size() == 10 + header + static_cast<std::size_t>(2 * H) * 4);
  auto want = tz::pipelines::embed_texts(*model, tok, texts, tz::models::PoolingConfig::mode("max"), false).to_vector<float>();
  std::vector<float> got(static_cast<std::size_t>(2 * H));
  std::memcpy(got.data(), b.data() + 10 + header, got.size() * 4);
  for (std::size_t k = 0; k < got.size(); ++k) CHECK(got[k] == Approx(want[k]).margin(1e-6));
  CHECK(run(s, "embed --pooling none --format npy --output x.npy --model " + dir + " a").code == 2);

  // A sentence-transformers directory: its pooling (cls) and Normalize, the encoder in 0_Transformer.
  const fs::path st_dir = s.path / "st";
  fs::create_directories(st_dir / "0_Transformer");
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    fs::copy_file(fs::path(dir) / f, st_dir / "0_Transformer" / f);
  std::ofstream(st_dir / "modules.json")
      << json::array({{{"idx", 0}, {"name", "0"}, {"path", "0_Transformer"}, {"type", "sentence_transformers.models.Transformer"}},
                      {{"idx", 1}, {"name", "1"}, {"path", "1_Pooling"}, {"type", "sentence_transformers.models.Pooling"}},
                      {{"idx", 2}, {"name", "2"}, {"path", "2_Normalize"}, {"type", "sentence_transformers.models.Normalize"}}})
             .dump();
  fs::create_directories(st_dir / "1_Pooling");
  fs::create_directories(st_dir / "2_Normalize");
  std::ofstream(st_dir / "1_Pooling" / "config.json")
      << json{{"word_embedding_dimension", H}, {"pooling_mode_cls_token", true}, {"pooling_mode_mean_tokens", false}}.dump();
  Result st = run(s, "embed --model " + st_dir.string(), texts[0] + "\n" + texts[1] + "\n");
  REQUIRE(st.code == 0);
  auto st_rows = jsonl(st.out);
  REQUIRE(st_rows.size() == 2);
  auto sentence = tz::models::SentenceTransformer::from_pretrained(st_dir.string());
  auto vectors = tz::pipelines::encode_sentences(sentence, tok, texts).to_vector<float>();
  for (std::size_t i = 0; i < 2; ++i) {
    double norm = 0;
    for (std::size_t d = 0; d < static_cast<std::size_t>(H); ++d) {
      const double v = st_rows[i]["embedding"][d].get<double>();
      norm += v * v;
      CHECK(v == Approx(vectors[i * static_cast<std::size_t>(H) + d]).margin(1e-6));
    }
    CHECK(std::sqrt(norm) == Approx(1.0).margin(1e-5));
  }
}

TEST_CASE("fill-mask / classify / tag / qa / embed on BERT / ELECTRA / DistilBERT models equal the library", "[cli][pipelines][reference]") {
  Scratch s;
  for (const std::string family : {"bert", "electra", "distilbert"}) {
    INFO(family);
    auto dir = [&](const std::string& name) { return (tz::test::reference_dir() / family / name).string(); };
    for (const char* name : {"tiny-seqcls", "tiny-token-cls", "tiny-qa", "tiny-model"})
      if (!tz::test::have_reference(family + "/" + name)) return;
    auto json_rows = [&](const std::string& args, const std::string& input = "") {
      Result r = run(s, args, input);
      INFO(args << "\n" << r.err);
      REQUIRE(r.code == 0);
      auto rows = jsonl(r.out);
      REQUIRE(rows.size() == 1);
      return rows[0];
    };

    const std::string mlm = dir(family == "electra" ? "tiny-generator" : "tiny-masked-lm");
    {
      auto model = load(mlm);
      auto tok = tz::tokenizer::WordPiece::from_pretrained(mlm);
      const std::string text = "the [MASK] sat on the mat .";
      auto got = json_rows("fill-mask --json --top-k 3 --model " + mlm + " " + quote(text));
      tz::pipelines::FillMaskOptions opt;
      opt.top_k = 3;
      auto want = tz::pipelines::fill_mask(*model, tok, {text}, opt)[0][0];
      REQUIRE(got.size() == 3);
      for (std::size_t k = 0; k < 3; ++k) {
        CHECK(got[k]["token"] == want[k].token);
        CHECK(got[k]["sequence"] == want[k].sequence);
        CHECK(got[k]["score"].get<double>() == Approx(want[k].score).epsilon(1e-6));
      }
    }
    {
      auto model = load(dir("tiny-seqcls"));
      auto tok = tz::tokenizer::WordPiece::from_pretrained(dir("tiny-seqcls"));
      const std::string text = "a much longer sentence about the river";
      auto got = json_rows("classify --json --top-k 3 --model " + dir("tiny-seqcls"), text + "\n");
      auto want = tz::pipelines::top_labels(tz::pipelines::classify_texts(*model, tok, {text})[0], 3);
      REQUIRE(got.size() == 3);
      for (std::size_t k = 0; k < 3; ++k) {
        CHECK(got[k]["label"] == want[k].label);
        CHECK(got[k]["score"].get<double>() == Approx(want[k].score).epsilon(1e-6));
      }
    }
    {
      auto model = load(dir("tiny-token-cls"));
      auto tok = tz::tokenizer::WordPiece::from_pretrained(dir("tiny-token-cls"));
      const std::string text = "John Smith lives in New York.";
      auto got = json_rows("tag --json --ignore-labels '' --model " + dir("tiny-token-cls") + " " + quote(text));
      tz::pipelines::TokenClassificationOptions opt;
      opt.ignore_labels = {};
      auto want = tz::pipelines::classify_tokens(*model, tok, {text}, opt)[0];
      REQUIRE(got.size() == want.size());
      REQUIRE(!want.empty());
      for (std::size_t k = 0; k < want.size(); ++k) {
        CHECK(got[k]["entity"] == want[k].entity);
        CHECK(got[k]["word"] == want[k].word);
        CHECK(got[k]["start"] == want[k].start);
        CHECK(got[k]["end"] == want[k].end);
        CHECK(got[k]["score"].get<double>() == Approx(want[k].score).epsilon(1e-6));
      }
    }
    {
      auto model = load(dir("tiny-qa"));
      auto tok = tz::tokenizer::WordPiece::from_pretrained(dir("tiny-qa"));
      const tz::pipelines::QAInput q{"Where did Mary move?", "His sister Mary moved to Paris in 1990, where she studied music."};
      auto got = json_rows("qa --json --model " + dir("tiny-qa") + " --question " + quote(q.question) + " --context " +
                           quote(q.context));
      auto want = tz::pipelines::answer_questions(*model, tok, {q})[0];
      REQUIRE(want.size() == 1);
      CHECK(got["answer"] == want[0].answer);
      CHECK(got["start"] == want[0].start);
      CHECK(got["end"] == want[0].end);
      CHECK(got["score"].get<double>() == Approx(want[0].score).epsilon(1e-6));
    }
    {
      auto model = load(dir("tiny-model"), "base");
      auto tok = tz::tokenizer::WordPiece::from_pretrained(dir("tiny-model"));
      const std::string text = "the river near new york";
      auto got = json_rows("embed --json --model " + dir("tiny-model") + " " + quote(text));
      auto want = tz::pipelines::embed_texts(*model, tok, {text}, tz::models::PoolingConfig::mode("mean"), false)
                      .to_vector<float>();
      REQUIRE(got["embedding"].size() == want.size());
      for (std::size_t d = 0; d < want.size(); ++d) CHECK(got["embedding"][d].get<double>() == Approx(want[d]).margin(1e-6));
    }
  }
}
