// libFuzzer target for config.json (tz::models::load_config, the path from_pretrained and
// `--config` take, for every family the registry knows). Any input must load or throw tz::Error;
// a config that loads must round-trip through to_json, and when it describes a small model that
// model must build and run a forward pass (validate() must refuse whatever the model cannot run).
// Seeds: tests/models/corpus/config; dictionary: config.dict. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "models/convbert/config.h"
#include "models/registry.h"
#include "tensor/ops.h"
#include "tests/fuzz/fuzz_file.h"

namespace models = tz::models;

namespace {

// Parameters of the model, roughly: enough to tell a tiny model from a costly one.
double approx_parameters(const models::PretrainedConfig& c) {
  const double h = static_cast<double>(c.hidden_size);
  double n = 4.0 * c.min_weight_count() +
             h * static_cast<double>(c.max_position_embeddings + c.type_vocab_size + c.num_labels());
  // ConvBERT's span-based convolution: a kernel of conv_kernel_size per feature.
  if (const auto* cb = dynamic_cast<const tz::convbert::ConvBertConfig*>(&c))
    n += h * static_cast<double>(cb->conv_kernel_size) + static_cast<double>(cb->embedding_size) * h;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = tz::fuzz::scratch_dir() / "config.json";
  tz::fuzz::write_file(path, data, size);
  std::shared_ptr<models::PretrainedConfig> config;
  try {
    config = models::load_config(path.string());
  } catch (const tz::Error&) {
    return 0;
  }
  // What was accepted must save and read back to the same JSON.
  std::shared_ptr<models::PretrainedConfig> again;
  try {
    again = models::config_from_json(config->to_json());
  } catch (const tz::Error&) {
    __builtin_trap();  // load accepted a config that its own output does not reproduce
  }
  if (again->to_json() != config->to_json()) __builtin_trap();

  if (approx_parameters(*config) > 2e5 || config->num_hidden_layers > 4) return 0;
  for (const char* head : {"masked-lm", "sequence-classification"}) {
    try {
      auto model = models::create(*config, head, 0);
      tz::NoGradGuard no_grad;
      models::Inputs in;
      const int64_t T = std::min<int64_t>(3, config->max_position_embeddings);
      in.input_ids = tz::raw::full({1, T}, 0.0, tz::DType::Int64);
      auto out = model->forward(in);
      if (!out.logits.defined()) __builtin_trap();
    } catch (const tz::Error&) {
      // A head may refuse a config (e.g. problem_type vs num_labels), but with tz::Error only.
    }
  }
  return 0;
}
