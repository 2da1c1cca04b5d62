// ConvBERT's registry entry; see family.h.
#include "models/convbert/family.h"

#include "core/error.h"
#include "models/convbert/heads.h"
#include "models/replaced_token_detection.h"

namespace tz::convbert {

namespace {
std::shared_ptr<models::PreTrainedModel> build(const models::PretrainedConfig& base, const std::string& arch) {
  const auto* c = dynamic_cast<const ConvBertConfig*>(&base);
  TZ_CHECK(c, "convbert: ", arch, " needs a ConvBertConfig, got a config of model_type '", base.model_type, "'");
  if (arch == "ConvBertModel") return std::make_shared<ConvBertModel>(*c);
  if (arch == "ConvBertForMaskedLM") return std::make_shared<ForMaskedLM>(*c);
  if (arch == "ConvBertForSequenceClassification") return std::make_shared<ForSequenceClassification>(*c);
  if (arch == "ConvBertForMultipleChoice") return std::make_shared<ForMultipleChoice>(*c);
  if (arch == "ConvBertForTokenClassification") return std::make_shared<ForTokenClassification>(*c);
  if (arch == "ConvBertForQuestionAnswering") return std::make_shared<ForQuestionAnswering>(*c);
  // The ConvBERT paper's discriminator (not an HF class: HF loads its encoder as ConvBertModel).
  if (arch == "ConvBertForPreTraining")
    return std::make_shared<models::ForReplacedTokenDetection>(std::make_shared<ConvBertModel>(*c), arch);
  throw Error(detail::concat("convbert: unknown architecture '", arch, "'"));
}
}  // namespace

models::Family family() {
  using models::Task;
  models::Family f;
  f.model_type = "convbert";
  f.model_type_aliases = {"conv_bert"};
  f.description = "ConvBERT (Jiang et al., 2020): span-based dynamic convolution beside self-attention";
  f.architectures = {{Task::Base, "ConvBertModel"},
                     {Task::MaskedLM, "ConvBertForMaskedLM"},
                     {Task::SequenceClassification, "ConvBertForSequenceClassification"},
                     {Task::MultipleChoice, "ConvBertForMultipleChoice"},
                     {Task::TokenClassification, "ConvBertForTokenClassification"},
                     {Task::QuestionAnswering, "ConvBertForQuestionAnswering"},
                     {Task::ReplacedTokenDetection, "ConvBertForPreTraining"}};
  f.config_from_json = [](const nlohmann::json& j) {
    return std::make_shared<ConvBertConfig>(ConvBertConfig::from_json(j));
  };
  f.sizes = {"small", "medium-small", "base"};
  f.named_config = [](const std::string& size) { return std::make_shared<ConvBertConfig>(ConvBertConfig::named(size)); };
  f.build = build;
  return f;
}

}  // namespace tz::convbert
