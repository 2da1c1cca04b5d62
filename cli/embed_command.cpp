// `tensorzoo embed`: vectors from a model directory of any family (only the base model runs) or a
// sentence-transformers directory. The library side is train/pipelines/feature_extraction.h
// (embed_texts, extract_features, encode_sentences) and models/sentence_transformers.h.
//   tensorzoo embed --model DIR [--pooling cls|mean|max|none] [--normalize]
//                   [--format jsonl|safetensors|npy] [--output F] [--file F | "text" ...]
// Pooled vectors: one per text (JSONL {"embedding": [...]}, safetensors "embeddings" [N, D], .npy
// [N, D]). --pooling none (HF's feature-extraction pipeline): one vector per token, special tokens
// included, with its code-point offsets (JSONL {"tokens", "offsets", "embedding": [[...], ...]};
// safetensors "embeddings" [total tokens, H], "offsets" [total tokens, 2], "lengths" [N]).
#include <fstream>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "core/error.h"
#include "models/sentence_transformers.h"
#include "tensor/io/checkpoint.h"
#include "tensor/io/npy.h"
#include "tensor/ops.h"
#include "train/pipelines/feature_extraction.h"

namespace tz::cli {
namespace {

namespace fs = std::filesystem;

const char* const kPoolings[] = {"cls", "mean", "max", "none", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"};

// JSONL lines to `output` (stdout when empty).
class JsonlSink {
 public:
  explicit JsonlSink(const std::string& output) {
    if (output.empty()) return;
    file_.open(output, std::ios::binary | std::ios::trunc);
    TZ_CHECK(file_.good(), "embed: cannot write '", output, "'");
  }
  void write(const nlohmann::ordered_json& record) {
    std::ostream& os = file_.is_open() ? file_ : std::cout;
    os << record.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    TZ_CHECK(os.good(), "embed: error while writing the output");
  }

 private:
  std::ofstream file_;
};

int run_embed(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo embed",
              "Vectors from a model directory of any family, or a sentence-transformers directory (modules.json,\n"
              "1_Pooling/config.json, 2_Normalize: its pooling, normalisation, max_seq_length and do_lower_case\n"
              "are honoured, as SentenceTransformer.encode). Pooling runs over the real tokens ([CLS] and [SEP]\n"
              "included); none gives one vector per token (HF's feature-extraction pipeline). Inputs: the text\n"
              "arguments, else the lines of --file, else stdin.");
  add_model_options(p, "a sentence-transformers directory, or any");
  p.option("pooling", "P",
           "cls, mean, max or none (also mean_sqrt_len_tokens, weightedmean, lasttoken); unset: the "
           "sentence-transformers directory's, else mean. Given for a sentence-transformers directory, its "
           "encoder is used as a plain model",
           "");
  p.flag("normalize", "scale every vector to unit L2 norm");
  p.option("format", "jsonl|safetensors|npy", "output format (npy: pooled vectors only)", "jsonl");
  p.option("output", "F", "output file (jsonl: default stdout; safetensors and npy: required)", "");
  add_inference_options(p, "texts");
  p.positional("text", "texts to embed");
  if (!p.parse(args)) return p.exit_code();
  InferenceOptions io;
  if (!apply_inference_options(p, io)) return 2;
  const std::string pooling = p.get("pooling"), format = p.get("format"), output = p.get("output");
  if (!pooling.empty() && std::find(std::begin(kPoolings), std::end(kPoolings), pooling) == std::end(kPoolings))
    return usage_error("--pooling must be cls, mean, max or none (or mean_sqrt_len_tokens, weightedmean, "
                       "lasttoken), got '" + pooling + "'");
  if (format != "jsonl" && format != "safetensors" && format != "npy")
    return usage_error("--format must be jsonl, safetensors or npy, got '" + format + "'");
  if (io.json && format != "jsonl") return usage_error("--json prints JSONL; it does not go with --format " + format);
  if (format != "jsonl" && output.empty()) return usage_error("--format " + format + " needs --output F");
  if (format == "npy" && pooling == "none")
    return usage_error("--format npy holds one array; token vectors (--pooling none) need --format safetensors or jsonl");
  std::vector<std::string> texts = read_texts(p.positionals(), p.get("file"));
  if (texts.empty()) return usage_error("no input texts (give texts, --file F, or lines on stdin)");

  const std::string dir = resolve_model_arg(p.get("model"), "embed");
  pipelines::EmbedOptions opt;
  opt.batch_size = io.batch_size;
  opt.max_length = io.max_length;
  const bool sentence_transformers = models::is_sentence_transformers_dir(dir);
  Tensor vectors;                                // [N, D] pooled
  std::vector<pipelines::TokenVectors> tokens;   // --pooling none
  std::string pooling_name = pooling;
  bool normalized = p.get_flag("normalize");
  if (sentence_transformers && pooling.empty()) {
    auto st = models::SentenceTransformer::from_pretrained(dir, io.precision);
    tokenizer::WordPiece tok = load_tokenizer_for(st.config().transformer_dir, p.get("tokenizer"));
    vectors = pipelines::encode_sentences(st, tok, texts, opt);
    if (normalized && !st.config().normalize) vectors = models::normalize_rows(vectors);
    normalized = normalized || st.config().normalize;
    pooling_name = st.config().pooling.name();
  } else {
    const std::string model_dir = sentence_transformers ? models::read_sentence_transformers_config(dir).transformer_dir : dir;
    tokenizer::WordPiece tok = load_tokenizer_for(model_dir, p.get("tokenizer"));
    auto model = load_model_for(model_dir, models::Task::Base, "embed", io.precision);
    if (pooling_name.empty()) pooling_name = "mean";
    if (pooling_name == "none") {
      tokens = pipelines::extract_features(*model, tok, texts, opt);
      if (normalized)
        for (auto& t : tokens) t.vectors = models::normalize_rows(t.vectors);
    } else {
      vectors = pipelines::embed_texts(*model, tok, texts, models::PoolingConfig::mode(pooling_name), normalized, opt);
    }
  }

  const std::map<std::string, std::string> metadata{
      {"format", "pt"}, {"producer", "tensorzoo embed"}, {"pooling", pooling_name}, {"normalized", normalized ? "true" : "false"}};
  if (format == "npy") {
    io::save_npy(output, vectors);
    std::cerr << "embed: wrote " << vectors.size(0) << " x " << vectors.size(1) << " vectors to " << output << "\n";
    return 0;
  }
  if (format == "safetensors") {
    if (pooling_name == "none") {
      std::vector<float> all;
      std::vector<int64_t> offsets, lengths;
      int64_t H = 0;
      for (const auto& t : tokens) {
        const std::vector<float> v = t.vectors.to_vector<float>();
        all.insert(all.end(), v.begin(), v.end());
        H = t.vectors.size(1);
        for (const auto& o : t.offsets) {
          offsets.push_back(static_cast<int64_t>(o.begin));
          offsets.push_back(static_cast<int64_t>(o.end));
        }
        lengths.push_back(t.vectors.size(0));
      }
      const int64_t total = static_cast<int64_t>(offsets.size() / 2);
      io::save_safetensors(output,
                           {{"embeddings", raw::from_vector(all, {total, H})},
                            {"offsets", raw::from_vector(offsets, {total, 2})},
                            {"lengths", raw::from_vector(lengths, {static_cast<int64_t>(lengths.size())})}},
                           metadata);
      std::cerr << "embed: wrote " << total << " token vectors of " << texts.size() << " texts to " << output << "\n";
    } else {
      io::save_safetensors(output, {{"embeddings", vectors}}, metadata);
      std::cerr << "embed: wrote " << vectors.size(0) << " x " << vectors.size(1) << " vectors to " << output << "\n";
    }
    return 0;
  }
  JsonlSink sink(output);
  if (pooling_name == "none") {
    for (const auto& t : tokens) {
      const int64_t T = t.vectors.size(0), H = t.vectors.size(1);
      const std::vector<float> v = t.vectors.to_vector<float>();
      nlohmann::ordered_json rows = nlohmann::ordered_json::array(), offsets = nlohmann::ordered_json::array();
      for (int64_t i = 0; i < T; ++i) {
        rows.push_back(std::vector<float>(v.begin() + i * H, v.begin() + (i + 1) * H));
        offsets.push_back({t.offsets[static_cast<std::size_t>(i)].begin, t.offsets[static_cast<std::size_t>(i)].end});
      }
      sink.write({{"tokens", t.tokens}, {"offsets", offsets}, {"embedding", rows}});
    }
    return 0;
  }
  const int64_t N = vectors.size(0), D = vectors.size(1);
  const std::vector<float> v = vectors.to_vector<float>();
  for (int64_t i = 0; i < N; ++i) sink.write({{"embedding", std::vector<float>(v.begin() + i * D, v.begin() + (i + 1) * D)}});
  return 0;
}

Command reg{"embed", "sentence or token vectors; sentence-transformers directories too (HF's feature-extraction)", run_embed};

}  // namespace
}  // namespace tz::cli
