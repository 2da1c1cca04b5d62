// The family-neutral parts of the model interface; see model.h.
#include "models/model.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/init.h"
#include "tensor/ops.h"

namespace tz::models {

std::vector<std::pair<std::string, Tensor>> Output::named() const {
  std::vector<std::pair<std::string, Tensor>> out;
  auto add = [&](const char* name, const Tensor& t) {
    if (t.defined()) out.emplace_back(name, t);
  };
  add("loss", loss);
  add("logits", logits);
  add("start_logits", start_logits);
  add("end_logits", end_logits);
  add("prediction_logits", prediction_logits);
  add("seq_relationship_logits", seq_relationship_logits);
  add("last_hidden_state", last_hidden_state);
  add("pooler_output", pooler_output);
  for (size_t i = 0; i < hidden_states.size(); ++i) out.emplace_back("hidden_states." + std::to_string(i), hidden_states[i]);
  for (size_t i = 0; i < attentions.size(); ++i) out.emplace_back("attentions." + std::to_string(i), attentions[i]);
  return out;
}

Tensor Output::get(const std::string& hf_name) const {
  for (auto& [name, t] : named())
    if (name == hf_name) return t;
  return Tensor();
}

namespace {
constexpr std::pair<Task, const char*> kTaskNames[] = {
    {Task::Base, "base"},
    {Task::MaskedLM, "masked-lm"},
    {Task::PreTraining, "pretraining"},
    {Task::NextSentencePrediction, "next-sentence"},
    {Task::SequenceClassification, "sequence-classification"},
    {Task::TokenClassification, "token-classification"},
    {Task::QuestionAnswering, "question-answering"},
    {Task::MultipleChoice, "multiple-choice"},
    {Task::ReplacedTokenDetection, "replaced-token-detection"},
};
}  // namespace

const char* task_name(Task task) {
  for (auto [t, name] : kTaskNames)
    if (t == task) return name;
  return "?";
}

Task task_from_name(const std::string& name) {
  std::string known;
  for (auto [t, n] : kTaskNames) {
    if (name == n) return t;
    known += known.empty() ? n : std::string(", ") + n;
  }
  throw Error(detail::concat("unknown task '", name, "' (expected one of ", known, ")"));
}

bool PreTrainedModel::ignorable_missing_key(const std::string& key) const {
  return key.find("position_ids") != std::string::npos;
}

bool PreTrainedModel::ignorable_unexpected_key(const std::string& key) const {
  // The token-type buffer some HF versions save (non-persistent in others).
  return key.find("embeddings.token_type_ids") != std::string::npos;
}

void PreTrainedModel::init_family_module(const std::string&, nn::Module&, Generator&) {}

std::shared_ptr<nn::Module> PreTrainedModel::embedding_layer() const {
  throw Error(detail::concat(architecture(), ": this model does not expose its embedding layer for sharing"));
}

void PreTrainedModel::set_embedding_layer(std::shared_ptr<nn::Module>) {
  throw Error(detail::concat(architecture(), ": this model cannot share another model's embedding layer"));
}

void PreTrainedModel::init_weights(Generator& gen, const std::function<bool(const std::string&)>& select) {
  const double range = config().initializer_range;
  if (select) nn::init_weights_like_hf(*this, range, gen, select);
  else nn::init_weights_like_hf(*this, range, gen);
  NoGradGuard ng;
  for (auto& [name, m] : named_modules())
    if (!select || select(name)) init_family_module(name, *m, gen);
  tie_weights();
}

namespace {
std::atomic<int>& inference_path_flag() {
  static std::atomic<int> flag([] {
    const char* e = std::getenv("TZ_INFERENCE_PATH");
    return (e && std::strcmp(e, "0") == 0) ? 0 : 1;
  }());
  return flag;
}
}  // namespace

void set_inference_path_enabled(bool on) { inference_path_flag().store(on ? 1 : 0); }
bool inference_path_enabled() { return inference_path_flag().load() != 0; }

void PreTrainedModel::init_weights(uint64_t seed) {
  Generator gen(seed);
  init_weights(gen);
}

Tensor additive_attention_mask(const Tensor& attention_mask, float masked_value) {
  Tensor m = raw::to_dtype(attention_mask, DType::Float32);
  m = raw::reshape(m, {m.size(0), 1, 1, m.size(1)});
  return raw::mul(raw::add(raw::neg(m), 1.0), static_cast<double>(masked_value));
}

void check_ids(const Tensor& ids, const char* model, const char* name, int64_t limit, const char* limit_name) {
  TZ_CHECK(ids.dtype() == DType::Int64, model, ": ", name, " must be int64, got ", dtype_name(ids.dtype()));
  for (int64_t v : raw::contiguous(ids).to_vector<int64_t>())
    TZ_CHECK(v >= 0 && v < limit, model, ": ", name, " contains ", v, ", outside [0, ", limit, ") (", limit_name,
             " = ", limit, ")");
}

}  // namespace tz::models
