// ELECTRA's registry entry; see family.h.
#include "models/electra/family.h"

#include "core/error.h"
#include "models/electra/heads.h"

namespace tz::electra {

namespace {
std::shared_ptr<models::PreTrainedModel> build(const models::PretrainedConfig& base, const std::string& arch) {
  const auto* c = dynamic_cast<const ElectraConfig*>(&base);
  TZ_CHECK(c, "electra: ", arch, " needs an ElectraConfig, got a config of model_type '", base.model_type, "'");
  if (arch == "ElectraModel") return std::make_shared<ElectraModel>(*c);
  if (arch == "ElectraForPreTraining") return std::make_shared<ForPreTraining>(*c);
  if (arch == "ElectraForMaskedLM") return std::make_shared<ForMaskedLM>(*c);
  if (arch == "ElectraForSequenceClassification") return std::make_shared<ForSequenceClassification>(*c);
  if (arch == "ElectraForMultipleChoice") return std::make_shared<ForMultipleChoice>(*c);
  if (arch == "ElectraForTokenClassification") return std::make_shared<ForTokenClassification>(*c);
  if (arch == "ElectraForQuestionAnswering") return std::make_shared<ForQuestionAnswering>(*c);
  throw Error(detail::concat("electra: unknown architecture '", arch, "'"));
}
}  // namespace

models::Family family() {
  using models::Task;
  models::Family f;
  f.model_type = "electra";
  f.description = "ELECTRA (Clark et al., 2020): a BERT encoder pretrained as a replaced-token discriminator";
  f.architectures = {{Task::Base, "ElectraModel"},
                     {Task::PreTraining, "ElectraForPreTraining"},
                     {Task::ReplacedTokenDetection, "ElectraForPreTraining"},
                     {Task::MaskedLM, "ElectraForMaskedLM"},
                     {Task::SequenceClassification, "ElectraForSequenceClassification"},
                     {Task::MultipleChoice, "ElectraForMultipleChoice"},
                     {Task::TokenClassification, "ElectraForTokenClassification"},
                     {Task::QuestionAnswering, "ElectraForQuestionAnswering"}};
  f.config_from_json = [](const nlohmann::json& j) { return std::make_shared<ElectraConfig>(ElectraConfig::from_json(j)); };
  f.sizes = ElectraConfig::size_names();
  f.named_config = [](const std::string& size) { return std::make_shared<ElectraConfig>(ElectraConfig::named(size)); };
  f.build = build;
  return f;
}

}  // namespace tz::electra
