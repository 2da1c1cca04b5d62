// WordPiece: ids back to text, and the slow tokenizer's helpers for ids that are already tokenized
// (build_inputs_with_special_tokens, create_token_type_ids_from_sequences, get_special_tokens_mask,
// convert_*). Not here: encoding (wordpiece_encode.cpp), lookups (wordpiece.cpp).
// Partner header: wordpiece.h.
#include <algorithm>

#include "core/error.h"
#include "tokenizer/wordpiece.h"

namespace tz::tokenizer {

std::string WordPiece::decode(std::span<const int64_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    std::optional<std::string> token = id_to_token(id);
    if (!token || (skip_special_tokens && is_special_token(*token))) continue;
    tokens.push_back(std::move(*token));
  }
  return convert_tokens_to_string(tokens);
}

std::string WordPiece::convert_tokens_to_string(const std::vector<std::string>& tokens) const {
  const WordPieceConfig& c = model_->config;
  std::string out;
  bool first = true;
  for (const std::string& token : tokens) {
    std::string piece;
    if (!c.decoder_wordpiece) {
      piece = first ? token : " " + token;
    } else if (first) {
      piece = token;
    } else if (token.compare(0, c.decoder_prefix.size(), c.decoder_prefix) == 0) {
      piece = token.substr(c.decoder_prefix.size());
    } else {
      piece = " " + token;
    }
    if (c.decoder_wordpiece && c.decoder_cleanup) {
      // The crate cleans each token (with its leading space) on its own, in this order.
      static const std::pair<std::string_view, std::string_view> rules[] = {
          {" .", "."},     {" ?", "?"},     {" !", "!"},     {" ,", ","},         {" ' ", "'"},   {" n't", "n't"},
          {" 'm", "'m"},   {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
      for (const auto& [from, to] : rules) {
        std::string replaced;
        std::size_t pos = 0;
        for (std::size_t hit; (hit = piece.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
          replaced.append(piece, pos, hit - pos);
          replaced.append(to);
        }
        if (pos == 0) continue;
        replaced.append(piece, pos, std::string::npos);
        piece = std::move(replaced);
      }
    }
    out += piece;
    first = false;
  }
  return out;
}

std::vector<std::string> WordPiece::decode_batch(const std::vector<std::vector<int64_t>>& batch,
                                                 bool skip_special_tokens) const {
  std::vector<std::string> out;
  out.reserve(batch.size());
  for (const auto& ids : batch) out.push_back(decode(ids, skip_special_tokens));
  return out;
}

std::vector<int64_t> WordPiece::build_inputs_with_special_tokens(std::span<const int64_t> a,
                                                                 std::optional<std::span<const int64_t>> b) const {
  std::vector<int64_t> out;
  for (const TemplatePiece& p : template_for(b.has_value())) {
    if (!p.is_sequence)
      out.push_back(p.special_id);
    else if (p.sequence == 0)
      out.insert(out.end(), a.begin(), a.end());
    else
      out.insert(out.end(), b->begin(), b->end());
  }
  return out;
}

std::vector<int64_t> WordPiece::create_token_type_ids_from_sequences(std::span<const int64_t> a,
                                                                     std::optional<std::span<const int64_t>> b) const {
  std::vector<int64_t> out;
  for (const TemplatePiece& p : template_for(b.has_value())) {
    std::size_t n = !p.is_sequence ? 1 : p.sequence == 0 ? a.size() : b->size();
    out.insert(out.end(), n, p.type_id);
  }
  return out;
}

std::vector<int64_t> WordPiece::get_special_tokens_mask(std::span<const int64_t> a,
                                                        std::optional<std::span<const int64_t>> b,
                                                        bool already_has_special_tokens) const {
  std::vector<int64_t> out;
  if (already_has_special_tokens) {
    TZ_CHECK(!b.has_value(), "get_special_tokens_mask: give one sequence when it already has special tokens");
    for (int64_t id : a) {
      std::optional<std::string> t = id_to_token(id);
      out.push_back(t && is_special_token(*t) ? 1 : 0);
    }
    return out;
  }
  for (const TemplatePiece& p : template_for(b.has_value())) {
    std::size_t n = !p.is_sequence ? 1 : p.sequence == 0 ? a.size() : b->size();
    out.insert(out.end(), n, p.is_sequence ? 0 : 1);
  }
  return out;
}

std::vector<int64_t> WordPiece::convert_tokens_to_ids(const std::vector<std::string>& tokens) const {
  std::vector<int64_t> out;
  out.reserve(tokens.size());
  for (const std::string& t : tokens) {
    int64_t id = token_to_id(t);
    out.push_back(id >= 0 ? id : model_->unk_id);
  }
  return out;
}

std::vector<std::string> WordPiece::convert_ids_to_tokens(std::span<const int64_t> ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    std::optional<std::string> t = id_to_token(id);
    TZ_CHECK(t.has_value(), "convert_ids_to_tokens: id ", id, " is not in the vocabulary (size ", vocab_size(), ")");
    out.push_back(*t);
  }
  return out;
}

}  // namespace tz::tokenizer
