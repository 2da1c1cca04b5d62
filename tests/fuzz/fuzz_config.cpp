// libFuzzer target for config.json (tz::convbert::ConvBertConfig::load, the path from_pretrained
// and `--config` take). Any input must load or throw tz::Error; a config that loads must
// round-trip through to_json, and when it describes a small model that model must build and run
// a forward pass (validate() must refuse whatever the model cannot run). Seeds:
// tests/models/corpus/config; dictionary: config.dict. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "models/convbert/heads.h"
#include "tensor/ops.h"
#include "tests/fuzz/fuzz_file.h"

namespace cb = tz::convbert;

namespace {

// Parameters of the base model, roughly: enough to tell a tiny model from a costly one.
double approx_parameters(const cb::ConvBertConfig& c) {
  const double h = static_cast<double>(c.hidden_size), e = static_cast<double>(c.embedding_size);
  const double per_layer = 4.0 * h * h + 2.0 * h * static_cast<double>(c.intermediate_size) +
                           h * static_cast<double>(c.conv_kernel_size);
  return e * static_cast<double>(c.vocab_size + c.max_position_embeddings + c.type_vocab_size) +
         static_cast<double>(c.num_hidden_layers) * per_layer + static_cast<double>(c.num_labels()) * h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = tz::fuzz::scratch_dir() / "config.json";
  tz::fuzz::write_file(path, data, size);
  cb::ConvBertConfig config;
  try {
    config = cb::ConvBertConfig::load(path.string());
  } catch (const tz::Error&) {
    return 0;
  }
  // What was accepted must save and read back to the same JSON.
  cb::ConvBertConfig again;
  try {
    again = cb::ConvBertConfig::from_json(config.to_json());
  } catch (const tz::Error&) {
    __builtin_trap();  // load accepted a config that its own output does not reproduce
  }
  if (again.to_json() != config.to_json()) __builtin_trap();

  if (approx_parameters(config) > 2e5 || config.num_hidden_layers > 4) return 0;
  for (const char* head : {"ConvBertForMaskedLM", "ConvBertForSequenceClassification"}) {
    try {
      auto model = cb::create_model(config, head);
      tz::NoGradGuard no_grad;
      cb::Inputs in;
      const int64_t T = std::min<int64_t>(3, config.max_position_embeddings);
      in.input_ids = tz::raw::full({1, T}, 0.0, tz::DType::Int64);
      auto out = model->forward(in);
      if (!out.logits.defined()) __builtin_trap();
    } catch (const tz::Error&) {
      // A head may refuse a config (e.g. problem_type vs num_labels), but with tz::Error only.
    }
  }
  return 0;
}
