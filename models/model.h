// The model interface every family of the zoo implements, as HF's PreTrainedModel: one forward over
// Inputs giving an Output with HF's field names, the HF architecture it stands for, its config,
// HF's state_dict names (the module tree), tied weights, and HF's weight initialisation.
// Training (train/), the CLI (cli/) and data parallelism (distributed/) see models only through this
// header and models/registry.h (building, loading and saving by name).
// Not here: a family's layers (models/<family>/), the blocks several families share (models/blocks/).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "models/config.h"
#include "nn/module.h"
#include "tensor/random.h"

namespace tz::models {

/// What a forward pass takes; every tensor but one of input_ids / inputs_embeds is optional.
/// Shapes are [B, T] ([B, C, T] for multiple choice), int64 except where noted.
struct Inputs {
  Tensor input_ids;
  Tensor attention_mask;   // 1 = real token, 0 = padding (int64 or float32); default all ones
  Tensor token_type_ids;   // default zeros; families without token types (DistilBERT) refuse them
  Tensor position_ids;     // default 0..T-1
  Tensor inputs_embeds;    // float32 [B, T, embedding size], instead of input_ids
  Tensor head_mask;        // float32 [heads] or [num_layers, heads]; 1 keeps a head, 0 drops it
  // Labels (heads compute their loss when given), named as HF's forward takes them.
  Tensor labels;           // MLM/token-cls [B, T]; seq-cls [B] (int64) or [B, L] (float, multi-label) or [B] float (regression); MC [B]; RTD [B, T]
  Tensor next_sentence_label;  // BERT pretraining / next-sentence prediction [B]
  Tensor start_positions;  // QA [B]
  Tensor end_positions;    // QA [B]
  bool output_hidden_states = false;
  bool output_attentions = false;
  /// Masked LM with labels: run the prediction head only at the labelled positions (labels !=
  /// -100). The loss is HF's (the same per-position terms, the same mean) at a fraction of the
  /// head's cost and memory (15% of positions in pretraining); Output::logits is then [N, V] over
  /// those positions in row-major order. A training option; HF always computes all positions.
  bool mlm_logits_at_labels_only = false;
};

/// What every head returns (fields a head does not produce stay undefined), named as HF's outputs.
struct Output {
  Tensor loss;               // 0-dim, when labels were given
  Tensor logits;             // head output ([B, T, V], [B, L], [B, C], [B, T, L], [B, T] for RTD)
  Tensor start_logits, end_logits;  // QA [B, T]
  Tensor prediction_logits, seq_relationship_logits;  // BERT pretraining: MLM [B, T, V], next sentence [B, 2]
  Tensor last_hidden_state;  // [B, T, H]
  Tensor pooler_output;      // BERT's pooler [B, H]
  std::vector<Tensor> hidden_states;  // embeddings output + each layer's output (output_hidden_states)
  std::vector<Tensor> attentions;     // [B, heads, T, T] per layer (output_attentions)

  /// Every defined field under HF's name, in HF's order: loss, logits (or start_logits,
  /// end_logits / prediction_logits, seq_relationship_logits), last_hidden_state, pooler_output,
  /// hidden_states.<i>, attentions.<i>.
  std::vector<std::pair<std::string, Tensor>> named() const;
  /// The field called `hf_name` ("logits", "hidden_states.1", ...), or an undefined tensor.
  Tensor get(const std::string& hf_name) const;
};

/// The task a head model serves (HF's Auto classes: AutoModel, AutoModelForMaskedLM, ...).
enum class Task {
  Base,                    // the encoder alone (AutoModel)
  MaskedLM,                // AutoModelForMaskedLM (ELECTRA: the generator)
  PreTraining,             // AutoModelForPreTraining (BERT: MLM + next sentence; ELECTRA: the discriminator)
  NextSentencePrediction,  // BERT only
  SequenceClassification,
  TokenClassification,
  QuestionAnswering,
  MultipleChoice,
  ReplacedTokenDetection,  // ELECTRA's discriminator (ElectraForPreTraining); other families: their encoder + the same head
};
/// "base", "masked-lm", "pretraining", "next-sentence", "sequence-classification",
/// "token-classification", "question-answering", "multiple-choice", "replaced-token-detection".
const char* task_name(Task task);
/// The inverse of task_name; throws listing the names.
Task task_from_name(const std::string& name);

class PreTrainedModel : public nn::Module {
 public:
  virtual Output forward(const Inputs& inputs) = 0;
  /// HF class name: "ConvBertModel", "BertForMaskedLM", ...
  virtual std::string architecture() const = 0;
  virtual Task task() const = 0;
  virtual const PretrainedConfig& config() const = 0;
  /// HF's base_model_prefix: the name of the encoder inside every head model of the family
  /// ("convbert", "bert", ...). The base model's own parameter names carry no prefix.
  virtual std::string base_model_prefix() const = 0;

  /// Parameters that share storage with another one under a different name (tied weights), as
  /// {alias name, canonical name}; save_pretrained leaves the aliases out, as HF does.
  virtual std::vector<std::pair<std::string, std::string>> tied_weights() const { return {}; }
  /// Makes the aliases of tied_weights() share their canonical tensor again (HF's tie_weights).
  virtual void tie_weights() {}
  /// Whether forward reads token_type_ids (HF's model_input_names): DistilBERT does not.
  virtual bool takes_token_type_ids() const { return true; }

  /// The encoder's embedding layer (word, position and token-type tables and their LayerNorm: the
  /// module HF names `<prefix>.embeddings`), and replacing it by another model's, which makes the
  /// two models share those tensors (ELECTRA-style pretraining: a generator and a discriminator
  /// train one embedding layer). Replacing re-ties tied weights (the MLM decoder) to the new
  /// tables. The defaults throw: a family without them cannot share embeddings.
  virtual std::shared_ptr<nn::Module> embedding_layer() const;
  virtual void set_embedding_layer(std::shared_ptr<nn::Module> layer);

  /// HF's _keys_to_ignore_on_load_missing / _unexpected: names absent from or extra in a
  /// checkpoint that loading passes over silently (buffers HF rebuilds, aliases of tied weights).
  virtual bool ignorable_missing_key(const std::string& key) const;
  virtual bool ignorable_unexpected_key(const std::string& key) const;

  /// HF's _init_weights on the modules `select` picks (dotted names as named_modules(); empty
  /// function: all), drawn from `gen` in torch's Module.apply order, then tie_weights(). The
  /// default covers Linear, Embedding and LayerNorm (nn::init_weights_like_hf) and calls
  /// init_family_module for every selected module; families override that for their own layers.
  void init_weights(Generator& gen, const std::function<bool(const std::string&)>& select = {});
  /// init_weights on every module, drawn from Generator(seed).
  void init_weights(uint64_t seed);
  /// Matrix-multiply-like FLOPs of one encoder forward on [B, T] (a multiply-add counts 2); used
  /// by `tensorzoo bench`. Embedding lookups, norms, softmaxes and activations are not counted.
  virtual double forward_flops(int64_t B, int64_t T) const = 0;

  /// Initialises a family-specific module (anything nn::init_weights_like_hf does not know);
  /// init_weights calls it for every selected module, after the standard layers.
  virtual void init_family_module(const std::string& name, nn::Module& module, Generator& gen);
};

/// The family's base model of type `Base` inside `model`: the model itself, or its child named
/// base_model_prefix() (a head). Throws when there is none.
template <class Base>
Base& base_model_of(const PreTrainedModel& model) {
  if (auto* b = dynamic_cast<const Base*>(&model)) return const_cast<Base&>(*b);
  for (const auto& [name, child] : model.named_children())
    if (auto* b = dynamic_cast<Base*>(child.get()); b && name == model.base_model_prefix()) return *b;
  throw Error(detail::concat(model.architecture(), ": no base model under '", model.base_model_prefix(), "'"));
}

/// The switch of the graph-free inference paths (default on; off when the environment sets
/// TZ_INFERENCE_PATH=0, or with `--plain-path` on the CLI's inference commands). A family that has
/// such a path takes it, in eval mode under NoGradGuard, only while this is on; off, every forward
/// runs op by op through the differentiable op set, the path that defines the numbers.
void set_inference_path_enabled(bool on);
bool inference_path_enabled();

/// HF's extended attention mask, additive, [B, 1, 1, T]: 0 where attended and `masked_value`
/// where attention_mask is 0 (float32's lowest in HF >= 4.21, -10000 before: both give masked keys
/// exactly zero probability when a row has a real token).
Tensor additive_attention_mask(const Tensor& attention_mask, float masked_value);

/// Throws unless `ids` is int64 with every value in [0, limit), naming the model, the input and
/// the limit's config field.
void check_ids(const Tensor& ids, const char* model, const char* name, int64_t limit, const char* limit_name);

}  // namespace tz::models
