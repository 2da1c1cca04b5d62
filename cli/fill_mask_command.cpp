// `tensorzoo fill-mask`: the k most likely tokens for every [MASK] of each text, with their
// softmax probabilities, from a ConvBertForMaskedLM model directory.
//   tensorzoo fill-mask --model DIR [--top-k 5] [--json] "The [MASK] sat on the mat." ...
// Texts are run in batches padded to the longest text of the batch. ConvBERT's convolution sees the
// padding positions (as in HF), so numbers depend slightly on what a text is batched with; run the
// same batch as HF to get HF's numbers.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/text_inputs.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

namespace tz::cli {
namespace {

struct Prediction {
  int64_t id;
  double score;
};

/// Softmax over one row of V logits, then the k best (ties: smaller id first).
std::vector<Prediction> top_k(const float* logits, int64_t V, int64_t k) {
  double max = logits[0];
  for (int64_t v = 1; v < V; ++v) max = std::max<double>(max, logits[v]);
  double sum = 0;
  for (int64_t v = 0; v < V; ++v) sum += std::exp(static_cast<double>(logits[v]) - max);
  std::vector<int64_t> order(static_cast<std::size_t>(V));
  for (int64_t v = 0; v < V; ++v) order[static_cast<std::size_t>(v)] = v;
  k = std::min(k, V);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  std::vector<Prediction> out;
  for (int64_t i = 0; i < k; ++i) {
    int64_t id = order[static_cast<std::size_t>(i)];
    out.push_back({id, std::exp(static_cast<double>(logits[id]) - max) / sum});
  }
  return out;
}

int run_fill_mask(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo fill-mask",
              "Predict the tokens hidden behind [MASK] with a masked-LM model (ConvBertForMaskedLM).\n"
              "Prints, for each [MASK] of each text, the top-k tokens and their probabilities (several\n"
              "[MASK]s in one text are predicted independently, from the same forward pass).");
  p.option("model", "DIR", "model directory (config.json + weights + tokenizer files)", "", true);
  p.option("tokenizer", "PATH", "tokenizer to use instead of the model directory's", "");
  p.option("top-k", "K", "predictions per [MASK]", "5");
  p.option("file", "F", "read texts from F, one per line ('-' = stdin) when no text is given", "");
  p.option("batch-size", "N", "texts per forward pass", "32");
  p.option("max-length", "N", "truncate texts to N tokens (0: the model's limit)", "0");
  p.option("threads", "N", "threads for the math (0: all cores)", "0");
  p.flag("json", "one JSON object per text (JSONL) instead of a table");
  p.positional("text", "texts containing [MASK]");
  add_plain_path_option(p);
  if (!p.parse(args)) return p.exit_code();
  apply_plain_path_option(p);
  long long k = p.get_int("top-k"), batch_size = p.get_int("batch-size");
  if (k <= 0 || batch_size <= 0) {
    std::cerr << "error: --top-k and --batch-size must be positive\n";
    return 2;
  }
  if (p.get_int("threads") > 0) set_num_threads(static_cast<int>(p.get_int("threads")));

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  const std::string mask = tok.config().mask_token;
  const int64_t mask_id = tok.token_to_id(mask);
  TZ_CHECK(mask_id >= 0, "fill-mask: the tokenizer has no mask token '", mask, "'");
  std::vector<std::string> texts = read_texts(p.positionals(), p.get("file"));
  if (texts.empty()) {
    std::cerr << "error: no input texts (give texts, --file F, or lines on stdin)\n";
    return 2;
  }
  for (const std::string& t : texts)
    if (t.find(mask) == std::string::npos) {
      std::cerr << "error: text has no " << mask << ": \"" << t << "\"\n";
      return 2;
    }

  auto model = load_model_for(p.get("model"), models::Task::MaskedLM, "fill-mask");
  tokenizer::EncodeOptions opts = batch_options(tok, model->config(), p.get_int("max-length"));
  NoGradGuard no_grad;
  const bool json = p.get_flag("json");
  const std::size_t bs = static_cast<std::size_t>(batch_size);
  for (std::size_t start = 0; start < texts.size(); start += bs) {
    std::vector<std::string> chunk(texts.begin() + static_cast<std::ptrdiff_t>(start),
                                   texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), start + bs)));
    std::vector<tokenizer::Encoding> enc = tok.encode_batch(chunk, opts);
    Tensor logits = raw::contiguous(model->forward(to_inputs(enc)).logits);  // [B, T, V]
    const int64_t T = logits.size(1), V = logits.size(2);
    const float* data = logits.data<float>();
    for (std::size_t b = 0; b < chunk.size(); ++b) {
      std::vector<int64_t> positions;
      for (int64_t t = 0; t < T; ++t)
        if (enc[b].ids[static_cast<std::size_t>(t)] == mask_id) positions.push_back(t);
      TZ_CHECK(!positions.empty(), "fill-mask: the ", mask, " of \"", chunk[b], "\" was cut off by truncation to ",
               T, " tokens");
      if (!json) std::cout << chunk[b] << "\n";
      std::string masks_json;
      for (std::size_t m = 0; m < positions.size(); ++m) {
        auto preds = top_k(data + (static_cast<int64_t>(b) * T + positions[m]) * V, V, k);
        if (!json) std::cout << "  " << mask << " #" << m + 1 << " (token " << positions[m] << ")\n";
        std::string preds_json;
        for (std::size_t i = 0; i < preds.size(); ++i) {
          std::string token = tok.id_to_token(preds[i].id).value_or("");
          std::vector<int64_t> filled = enc[b].ids;
          filled[static_cast<std::size_t>(positions[m])] = preds[i].id;
          std::string sequence = tok.decode(filled, true);
          if (json) {
            std::ostringstream o;
            o << std::setprecision(9) << (i ? "," : "") << "{\"token\":" << json_string(token)
              << ",\"id\":" << preds[i].id << ",\"score\":" << preds[i].score << ",\"sequence\":" << json_string(sequence)
              << "}";
            preds_json += o.str();
          } else {
            std::cout << "    " << std::setw(2) << i + 1 << "  " << std::left << std::setw(16) << token << std::right
                      << std::fixed << std::setprecision(6) << preds[i].score << std::defaultfloat << "  " << sequence
                      << "\n";
          }
        }
        std::ostringstream mj;
        mj << (m ? "," : "") << "{\"position\":" << positions[m] << ",\"predictions\":[" << preds_json << "]}";
        masks_json += mj.str();
      }
      if (json) std::cout << "{\"text\":" << json_string(chunk[b]) << ",\"masks\":[" << masks_json << "]}\n";
    }
  }
  return 0;
}

Command reg{"fill-mask", "top-k predictions for each [MASK] of a text (masked-LM model)", run_fill_mask};

}  // namespace
}  // namespace tz::cli
