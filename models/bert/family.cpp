// BERT's registry entry; see family.h.
#include "models/bert/family.h"

#include "core/error.h"
#include "models/replaced_token_detection.h"
#include "models/bert/heads.h"

namespace tz::bert {

namespace {
std::shared_ptr<models::PreTrainedModel> build(const models::PretrainedConfig& base, const std::string& arch) {
  const auto* c = dynamic_cast<const BertConfig*>(&base);
  TZ_CHECK(c, "bert: ", arch, " needs a BertConfig, got a config of model_type '", base.model_type, "'");
  if (arch == "BertModel") return std::make_shared<BertModel>(*c);
  if (arch == "BertForMaskedLM") return std::make_shared<ForMaskedLM>(*c);
  if (arch == "BertForPreTraining") return std::make_shared<ForPreTraining>(*c);
  if (arch == "BertForNextSentencePrediction") return std::make_shared<ForNextSentencePrediction>(*c);
  if (arch == "BertForSequenceClassification") return std::make_shared<ForSequenceClassification>(*c);
  if (arch == "BertForMultipleChoice") return std::make_shared<ForMultipleChoice>(*c);
  if (arch == "BertForTokenClassification") return std::make_shared<ForTokenClassification>(*c);
  if (arch == "BertForQuestionAnswering") return std::make_shared<ForQuestionAnswering>(*c);
  // The replaced-token-detection discriminator on BERT's encoder (not an HF class; HF loads the
  // encoder as BertModel): no pooler, as HF's heads that do not read it.
  if (arch == "BertForReplacedTokenDetection")
    return std::make_shared<models::ForReplacedTokenDetection>(std::make_shared<BertModel>(*c, false), arch);
  throw Error(detail::concat("bert: unknown architecture '", arch, "'"));
}
}  // namespace

models::Family family() {
  using models::Task;
  models::Family f;
  f.model_type = "bert";
  f.description = "BERT (Devlin et al., 2018): the Transformer encoder pretrained with masked LM and next sentence";
  f.architectures = {{Task::Base, "BertModel"},
                     {Task::MaskedLM, "BertForMaskedLM"},
                     {Task::PreTraining, "BertForPreTraining"},
                     {Task::NextSentencePrediction, "BertForNextSentencePrediction"},
                     {Task::SequenceClassification, "BertForSequenceClassification"},
                     {Task::MultipleChoice, "BertForMultipleChoice"},
                     {Task::TokenClassification, "BertForTokenClassification"},
                     {Task::QuestionAnswering, "BertForQuestionAnswering"},
                     {Task::ReplacedTokenDetection, "BertForReplacedTokenDetection"}};
  f.config_from_json = [](const nlohmann::json& j) { return std::make_shared<BertConfig>(BertConfig::from_json(j)); };
  f.sizes = BertConfig::size_names();
  f.named_config = [](const std::string& size) { return std::make_shared<BertConfig>(BertConfig::named(size)); };
  f.build = build;
  return f;
}

}  // namespace tz::bert
