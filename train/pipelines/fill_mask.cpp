// HF's fill-mask pipeline; see fill_mask.h.
#include "train/pipelines/fill_mask.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "tensor/ops.h"
#include "train/pipelines/pipeline.h"

namespace tz::pipelines {

FillMaskTargets fill_mask_target_ids(const tokenizer::WordPiece& tok, const std::vector<std::string>& targets) {
  FillMaskTargets out;
  for (const std::string& target : targets) {
    int64_t id = tok.token_to_id(target);
    if (id < 0) {
      tokenizer::EncodeOptions o;
      o.add_special_tokens = false;
      tokenizer::Encoding e = tok.encode(target, o);
      if (e.empty()) {
        out.warnings.push_back("The specified target token `" + target +
                               "` does not exist in the model vocabulary. We cannot replace it with anything "
                               "meaningful, ignoring it");
        continue;
      }
      id = e.ids[0];
      out.warnings.push_back("The specified target token `" + target +
                             "` does not exist in the model vocabulary. Replacing with `" +
                             tok.id_to_token(id).value_or("") + "`.");
    }
    if (std::find(out.ids.begin(), out.ids.end(), id) == out.ids.end()) out.ids.push_back(id);
  }
  TZ_CHECK(!out.ids.empty(), "fill-mask: at least one target must be provided when targets are passed");
  return out;
}

std::vector<std::pair<int64_t, double>> top_k_tokens(std::span<const float> logits, std::size_t k,
                                                     std::span<const int64_t> target_ids) {
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<double> probs = softmax(logits);
  std::vector<int64_t> candidates;
  if (target_ids.empty()) {
    candidates.resize(static_cast<std::size_t>(V));
    std::iota(candidates.begin(), candidates.end(), 0);
  } else {
    for (int64_t id : target_ids) {
      TZ_CHECK(id >= 0 && id < V, "fill-mask: target id ", id, " is outside the model's vocabulary [0, ", V, ")");
      candidates.push_back(id);
    }
  }
  k = std::min(k, candidates.size());
  auto better = [&](int64_t a, int64_t b) {
    const double pa = probs[static_cast<std::size_t>(a)], pb = probs[static_cast<std::size_t>(b)];
    return pa != pb ? pa > pb : a < b;
  };
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(k), candidates.end(), better);
  std::vector<std::pair<int64_t, double>> out;
  for (std::size_t i = 0; i < k; ++i) out.emplace_back(candidates[i], probs[static_cast<std::size_t>(candidates[i])]);
  return out;
}

FillMaskResult fill_mask_predictions(const tokenizer::WordPiece& tok, const tokenizer::Encoding& encoding,
                                     const float* logits, int64_t V, std::size_t top_k,
                                     std::span<const int64_t> target_ids) {
  const int64_t mask_id = tok.token_to_id(tok.config().mask_token);
  std::vector<std::size_t> positions;
  for (std::size_t t = 0; t < encoding.size(); ++t)
    if (encoding.ids[t] == mask_id) positions.push_back(t);
  TZ_CHECK(!positions.empty(), "fill-mask: no mask_token (", tok.config().mask_token, ") found on the input");
  const bool single_mask = positions.size() == 1;
  FillMaskResult result;
  for (std::size_t position : positions) {
    std::vector<FillMaskPrediction> row;
    const std::span<const float> z(logits + static_cast<int64_t>(position) * V, static_cast<std::size_t>(V));
    for (const auto& [id, score] : top_k_tokens(z, top_k, target_ids)) {
      std::vector<int64_t> filled;
      for (std::size_t t = 0; t < encoding.size(); ++t) {
        const int64_t token = t == position ? id : encoding.ids[t];
        if (token != tok.pad_id()) filled.push_back(token);  // HF drops padding before decoding
      }
      const int64_t one[] = {id};
      row.push_back({score, id, tok.decode(one), tok.decode(filled, single_mask)});
    }
    result.push_back(std::move(row));
  }
  return result;
}

std::vector<FillMaskResult> fill_mask(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                      const std::vector<std::string>& texts, const FillMaskOptions& options,
                                      std::vector<std::string>* warnings) {
  TZ_CHECK(options.top_k > 0, "fill-mask: top_k must be positive");
  const int64_t mask_id = tok.token_to_id(tok.config().mask_token);
  TZ_CHECK(mask_id >= 0, "fill-mask: the tokenizer has no mask token '", tok.config().mask_token, "'");
  std::vector<int64_t> target_ids;
  if (!options.targets.empty()) {
    FillMaskTargets t = fill_mask_target_ids(tok, options.targets);
    target_ids = std::move(t.ids);
    if (warnings) warnings->insert(warnings->end(), t.warnings.begin(), t.warnings.end());
  }
  tokenizer::EncodeOptions o;
  o.truncation = tokenizer::Truncation{input_limit(tok, model.config(), options.max_length)};
  std::vector<tokenizer::Encoding> enc = tok.encode_batch(texts, o);
  std::vector<const tokenizer::Encoding*> ptrs;
  for (std::size_t i = 0; i < enc.size(); ++i) {
    TZ_CHECK(std::find(enc[i].ids.begin(), enc[i].ids.end(), mask_id) != enc[i].ids.end(), "fill-mask: no mask_token (",
             tok.config().mask_token, ") found on input ", i + 1, " (or it was cut off by truncation to ",
             o.truncation->max_length, " tokens): \"", texts[i], "\"");
    ptrs.push_back(&enc[i]);
  }
  std::vector<FillMaskResult> results(texts.size());
  for_each_batch(model, ptrs, options.batch_size, [&](std::span<const std::size_t> indices, const models::Output& out) {
    TZ_CHECK(out.logits.defined() && out.logits.dim() == 3, "fill-mask: ", model.architecture(),
             " gives no masked-LM logits [B, T, V]");
    Tensor logits = raw::contiguous(out.logits);
    const int64_t T = logits.size(1), V = logits.size(2);
    for (std::size_t b = 0; b < indices.size(); ++b)
      results[indices[b]] = fill_mask_predictions(tok, enc[indices[b]], logits.data<float>() + static_cast<int64_t>(b) * T * V,
                                                  V, options.top_k, target_ids);
  });
  return results;
}

}  // namespace tz::pipelines
