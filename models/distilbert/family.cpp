// DistilBERT's registry entry; see family.h.
#include "models/distilbert/family.h"

#include "core/error.h"
#include "models/replaced_token_detection.h"
#include "models/distilbert/heads.h"

namespace tz::distilbert {

namespace {
std::shared_ptr<models::PreTrainedModel> build(const models::PretrainedConfig& base, const std::string& arch) {
  const auto* c = dynamic_cast<const DistilBertConfig*>(&base);
  TZ_CHECK(c, "distilbert: ", arch, " needs a DistilBertConfig, got a config of model_type '", base.model_type, "'");
  if (arch == "DistilBertModel") return std::make_shared<DistilBertModel>(*c);
  if (arch == "DistilBertForMaskedLM") return std::make_shared<ForMaskedLM>(*c);
  if (arch == "DistilBertForSequenceClassification") return std::make_shared<ForSequenceClassification>(*c);
  if (arch == "DistilBertForMultipleChoice") return std::make_shared<ForMultipleChoice>(*c);
  if (arch == "DistilBertForTokenClassification") return std::make_shared<ForTokenClassification>(*c);
  if (arch == "DistilBertForQuestionAnswering") return std::make_shared<ForQuestionAnswering>(*c);
  // The replaced-token-detection discriminator on DistilBERT's encoder (not an HF class).
  if (arch == "DistilBertForReplacedTokenDetection")
    return std::make_shared<models::ForReplacedTokenDetection>(std::make_shared<DistilBertModel>(*c), arch);
  throw Error(detail::concat("distilbert: unknown architecture '", arch, "'"));
}
}  // namespace

models::Family family() {
  using models::Task;
  models::Family f;
  f.model_type = "distilbert";
  f.description = "DistilBERT (Sanh et al., 2019): a 6-layer BERT distilled from bert-base, without token types";
  f.architectures = {{Task::Base, "DistilBertModel"},
                     {Task::MaskedLM, "DistilBertForMaskedLM"},
                     {Task::SequenceClassification, "DistilBertForSequenceClassification"},
                     {Task::MultipleChoice, "DistilBertForMultipleChoice"},
                     {Task::TokenClassification, "DistilBertForTokenClassification"},
                     {Task::QuestionAnswering, "DistilBertForQuestionAnswering"},
                     {Task::ReplacedTokenDetection, "DistilBertForReplacedTokenDetection"}};
  f.config_from_json = [](const nlohmann::json& j) {
    return std::make_shared<DistilBertConfig>(DistilBertConfig::from_json(j));
  };
  f.sizes = DistilBertConfig::size_names();
  f.named_config = [](const std::string& size) { return std::make_shared<DistilBertConfig>(DistilBertConfig::named(size)); };
  f.build = build;
  return f;
}

}  // namespace tz::distilbert
