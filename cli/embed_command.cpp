// `tensorzoo embed`: one vector per text from a ConvBERT model directory (any head's checkpoint;
// only the base model runs). Pooling: the mean of last_hidden_state over the attention-masked
// positions ([CLS] and [SEP] included, as sentence-transformers' mean pooling), or the [CLS] vector.
//   tensorzoo embed --model DIR [--pooling mean|cls] [--normalize] [--format jsonl|safetensors]
//                   [--output F] [--file F | "text" ...]
// safetensors output holds one float32 tensor "embeddings" [N, H] in input order.
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::cli {
namespace {

int run_embed(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo embed",
              "Sentence vectors from a ConvBERT model directory: the mean of the last hidden states over\n"
              "the real (non-padding) tokens, or the [CLS] vector. Inputs: the text arguments, else the\n"
              "lines of --file, else stdin.");
  p.option("model", "DIR", "model directory (config.json + weights + tokenizer files)", "", true);
  p.option("tokenizer", "PATH", "tokenizer to use instead of the model directory's", "");
  p.option("pooling", "mean|cls", "how to pool the token vectors", "mean");
  p.option("format", "jsonl|safetensors", "output format", "jsonl");
  p.option("output", "F", "output file (jsonl: default stdout; safetensors: required)", "");
  p.option("file", "F", "read texts from F, one per line ('-' = stdin)", "");
  p.option("batch-size", "N", "texts per forward pass", "32");
  p.option("max-length", "N", "truncate texts to N tokens (0: the model's limit)", "0");
  p.option("threads", "N", "threads for the math (0: all cores)", "0");
  p.flag("normalize", "scale every vector to unit L2 norm");
  p.positional("text", "texts to embed");
  add_plain_path_option(p);
  if (!p.parse(args)) return p.exit_code();
  apply_plain_path_option(p);
  const std::string pooling = p.get("pooling"), format = p.get("format"), output = p.get("output");
  if (pooling != "mean" && pooling != "cls") {
    std::cerr << "error: --pooling must be mean or cls, got '" << pooling << "'\n";
    return 2;
  }
  if (format != "jsonl" && format != "safetensors") {
    std::cerr << "error: --format must be jsonl or safetensors, got '" << format << "'\n";
    return 2;
  }
  if (format == "safetensors" && output.empty()) {
    std::cerr << "error: --format safetensors needs --output F\n";
    return 2;
  }
  long long batch_size = p.get_int("batch-size");
  if (batch_size <= 0) {
    std::cerr << "error: --batch-size must be positive\n";
    return 2;
  }
  if (p.get_int("threads") > 0) set_num_threads(static_cast<int>(p.get_int("threads")));
  std::vector<std::string> texts = read_texts(p.positionals(), p.get("file"));
  if (texts.empty()) {
    std::cerr << "error: no input texts (give texts, --file F, or lines on stdin)\n";
    return 2;
  }

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  auto model = load_model_for(p.get("model"), models::Task::Base, "embed");
  tokenizer::EncodeOptions opts = batch_options(tok, model->config(), p.get_int("max-length"));
  const int64_t H = model->config().hidden_size, N = static_cast<int64_t>(texts.size());
  std::vector<float> vectors(static_cast<std::size_t>(N * H));

  NoGradGuard no_grad;
  const std::size_t bs = static_cast<std::size_t>(batch_size);
  for (std::size_t start = 0; start < texts.size(); start += bs) {
    std::size_t end = std::min(texts.size(), start + bs);
    std::vector<tokenizer::Encoding> enc =
        tok.encode_batch({texts.begin() + static_cast<std::ptrdiff_t>(start), texts.begin() + static_cast<std::ptrdiff_t>(end)}, opts);
    Tensor h = raw::contiguous(model->forward(to_inputs(enc)).last_hidden_state);  // [B, T, H]
    const int64_t T = h.size(1);
    const float* x = h.data<float>();
    for (std::size_t b = 0; b < end - start; ++b) {
      float* out = vectors.data() + static_cast<int64_t>(start + b) * H;
      const float* xb = x + static_cast<int64_t>(b) * T * H;
      if (pooling == "cls") {
        std::copy(xb, xb + H, out);
      } else {
        std::vector<double> acc(static_cast<std::size_t>(H), 0.0);
        int64_t count = 0;
        for (int64_t t = 0; t < T; ++t) {
          if (enc[b].attention_mask[static_cast<std::size_t>(t)] == 0) continue;
          for (int64_t d = 0; d < H; ++d) acc[static_cast<std::size_t>(d)] += xb[t * H + d];
          ++count;
        }
        for (int64_t d = 0; d < H; ++d) out[d] = static_cast<float>(acc[static_cast<std::size_t>(d)] / std::max<int64_t>(count, 1));
      }
      if (p.get_flag("normalize")) {
        double norm = 0;
        for (int64_t d = 0; d < H; ++d) norm += static_cast<double>(out[d]) * out[d];
        norm = std::sqrt(norm);
        if (norm > 0)
          for (int64_t d = 0; d < H; ++d) out[d] = static_cast<float>(out[d] / norm);
      }
    }
  }

  if (format == "safetensors") {
    io::save_safetensors(output, {{"embeddings", raw::from_vector(vectors, {N, H})}},
                         {{"format", "pt"}, {"producer", "tensorzoo embed"}, {"pooling", pooling}});
    std::cerr << "embed: wrote " << N << " x " << H << " embeddings to " << output << "\n";
    return 0;
  }
  std::ofstream file;
  if (!output.empty()) {
    file.open(output, std::ios::binary);
    TZ_CHECK(file.good(), "embed: cannot write '", output, "'");
  }
  std::ostream& os = output.empty() ? std::cout : file;
  for (int64_t i = 0; i < N; ++i) {
    std::ostringstream line;
    line << std::setprecision(9) << "{\"text\":" << json_string(texts[static_cast<std::size_t>(i)]) << ",\"embedding\":[";
    for (int64_t d = 0; d < H; ++d) line << (d ? "," : "") << vectors[static_cast<std::size_t>(i * H + d)];
    line << "]}\n";
    os << line.str();
  }
  TZ_CHECK(os.good(), "embed: error while writing the output");
  return 0;
}

Command reg{"embed", "sentence vectors (mean or [CLS] pooling) from a model directory", run_embed};

}  // namespace
}  // namespace tz::cli
