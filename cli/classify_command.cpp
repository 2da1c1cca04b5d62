// `tensorzoo classify`: the label of each text (or text pair) from a ConvBertForSequenceClassification
// model directory. Scores follow the config's problem_type as HF's pipeline does: softmax over the
// labels (single-label, the default for more than one label), a sigmoid per label (multi-label) or the
// raw output (regression, the default for one label).
//   tensorzoo classify --model DIR [--json] [--pair] [--file F | "text" ... | < lines]
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

int run_classify(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo classify",
              "Classify texts (or text pairs) with a sequence-classification model directory.\n"
              "Prints the label (config.json id2label) and its probability per input: softmax for\n"
              "single-label models, sigmoid per label for multi_label_classification, the raw value\n"
              "for regression. Inputs: the text arguments, else the lines of --file, else stdin.");
  p.option("model", "DIR", "model directory (config.json + weights + tokenizer files)", "", true);
  p.option("tokenizer", "PATH", "tokenizer to use instead of the model directory's", "");
  p.option("file", "F", "read inputs from F, one per line ('-' = stdin); with --pair: a<TAB>b", "");
  p.option("batch-size", "N", "inputs per forward pass", "32");
  p.option("max-length", "N", "truncate inputs to N tokens (0: the model's limit)", "0");
  p.option("threads", "N", "threads for the math (0: all cores)", "0");
  p.flag("pair", "inputs are pairs: consecutive text arguments, or a<TAB>b lines");
  p.flag("json", "one JSON object per input (JSONL) with every label's score");
  p.positional("text", "texts to classify");
  add_plain_path_option(p);
  if (!p.parse(args)) return p.exit_code();
  apply_plain_path_option(p);
  long long batch_size = p.get_int("batch-size");
  if (batch_size <= 0) {
    std::cerr << "error: --batch-size must be positive\n";
    return 2;
  }
  if (p.get_int("threads") > 0) set_num_threads(static_cast<int>(p.get_int("threads")));
  const bool pair = p.get_flag("pair"), json = p.get_flag("json");

  std::vector<std::string> lines = read_texts(p.positionals(), p.get("file"));
  if (lines.empty()) {
    std::cerr << "error: no input texts (give texts, --file F, or lines on stdin)\n";
    return 2;
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  if (pair) {
    if (!p.positionals().empty()) {
      if (lines.size() % 2 != 0) {
        std::cerr << "error: --pair needs an even number of texts (got " << lines.size() << ")\n";
        return 2;
      }
      for (std::size_t i = 0; i < lines.size(); i += 2) pairs.emplace_back(lines[i], lines[i + 1]);
    } else {
      for (std::size_t i = 0; i < lines.size(); ++i) {
        std::size_t tab = lines[i].find('\t');
        if (tab == std::string::npos) {
          std::cerr << "error: --pair input line " << i + 1 << " has no TAB between the two texts\n";
          return 2;
        }
        pairs.emplace_back(lines[i].substr(0, tab), lines[i].substr(tab + 1));
      }
    }
  }

  tokenizer::WordPiece tok = load_tokenizer_for(p.get("model"), p.get("tokenizer"));
  auto model = load_model_for(p.get("model"), models::Task::SequenceClassification, "classify");
  const auto& config = model->config();
  const int64_t L = config.num_labels();
  std::string problem = config.problem_type.value_or(L == 1 ? "regression" : "single_label_classification");
  tokenizer::EncodeOptions opts = batch_options(tok, config, p.get_int("max-length"));

  NoGradGuard no_grad;
  const std::size_t n = pair ? pairs.size() : lines.size(), bs = static_cast<std::size_t>(batch_size);
  if (!json) std::cout << (problem == "regression" ? "score" : "label\tscore") << "\ttext\n";
  for (std::size_t start = 0; start < n; start += bs) {
    std::size_t end = std::min(n, start + bs);
    std::vector<tokenizer::Encoding> enc;
    if (pair)
      enc = tok.encode_batch_pairs({pairs.begin() + static_cast<std::ptrdiff_t>(start), pairs.begin() + static_cast<std::ptrdiff_t>(end)}, opts);
    else
      enc = tok.encode_batch({lines.begin() + static_cast<std::ptrdiff_t>(start), lines.begin() + static_cast<std::ptrdiff_t>(end)}, opts);
    Tensor logits = raw::contiguous(model->forward(to_inputs(enc)).logits);  // [B, L]
    const float* z = logits.data<float>();
    for (std::size_t b = 0; b < end - start; ++b) {
      const float* row = z + static_cast<int64_t>(b) * L;
      std::vector<double> scores(static_cast<std::size_t>(L));
      if (problem == "single_label_classification") {
        double max = row[0], sum = 0;
        for (int64_t l = 1; l < L; ++l) max = std::max<double>(max, row[l]);
        for (int64_t l = 0; l < L; ++l) sum += std::exp(row[l] - max);
        for (int64_t l = 0; l < L; ++l) scores[static_cast<std::size_t>(l)] = std::exp(row[l] - max) / sum;
      } else if (problem == "multi_label_classification") {
        for (int64_t l = 0; l < L; ++l) scores[static_cast<std::size_t>(l)] = 1.0 / (1.0 + std::exp(-static_cast<double>(row[l])));
      } else {
        for (int64_t l = 0; l < L; ++l) scores[static_cast<std::size_t>(l)] = row[l];
      }
      std::size_t best = static_cast<std::size_t>(std::max_element(scores.begin(), scores.end()) - scores.begin());
      const std::string& text = pair ? pairs[start + b].first : lines[start + b];
      if (json) {
        std::ostringstream o;
        o << std::setprecision(9) << "{\"text\":" << json_string(text);
        if (pair) o << ",\"text_pair\":" << json_string(pairs[start + b].second);
        if (problem == "regression") {
          o << ",\"score\":" << scores[0];
          if (L > 1) {
            o << ",\"scores\":[";
            for (int64_t l = 0; l < L; ++l) o << (l ? "," : "") << scores[static_cast<std::size_t>(l)];
            o << "]";
          }
        } else {
          o << ",\"label\":" << json_string(config.id2label[best]) << ",\"score\":" << scores[best] << ",\"scores\":{";
          for (int64_t l = 0; l < L; ++l)
            o << (l ? "," : "") << json_string(config.id2label[static_cast<std::size_t>(l)]) << ":"
              << scores[static_cast<std::size_t>(l)];
          o << "}";
          if (problem == "multi_label_classification") {
            o << ",\"labels\":[";
            bool first = true;
            for (int64_t l = 0; l < L; ++l)
              if (scores[static_cast<std::size_t>(l)] >= 0.5) {
                o << (first ? "" : ",") << json_string(config.id2label[static_cast<std::size_t>(l)]);
                first = false;
              }
            o << "]";
          }
        }
        std::cout << o.str() << "}\n";
      } else {
        std::cout << std::fixed << std::setprecision(6);
        if (problem == "regression")
          std::cout << scores[0];
        else
          std::cout << config.id2label[best] << "\t" << scores[best];
        std::cout << std::defaultfloat << "\t" << text;
        if (pair) std::cout << "\t" << pairs[start + b].second;
        std::cout << "\n";
      }
    }
  }
  return 0;
}

Command reg{"classify", "label texts with a sequence-classification model", run_classify};

}  // namespace
}  // namespace tz::cli
