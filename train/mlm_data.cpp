// Corpus -> MLM examples; see mlm_data.h.
#include "train/mlm_data.h"

#include "core/error.h"

namespace tz::train {

std::vector<TokenizedExample> make_mlm_examples(const std::vector<std::string>& lines,
                                                const tokenizer::WordPiece& tok, int64_t seq_len,
                                                bool line_by_line, unsigned num_threads) {
  TZ_CHECK(seq_len >= 2, "mlm data: seq_len must be at least 2, got ", seq_len);
  tokenizer::EncodeOptions opt;
  opt.num_threads = num_threads;
  opt.lenient_utf8 = true;
  if (line_by_line) opt.truncation = tokenizer::Truncation{static_cast<size_t>(seq_len)};
  std::vector<tokenizer::Encoding> encodings = tok.encode_batch(lines, opt);
  std::vector<TokenizedExample> out;
  if (line_by_line) {
    for (auto& e : encodings) out.push_back(TokenizedExample{std::move(e.ids), {}});
    return out;
  }
  std::vector<int64_t> all;
  for (const auto& e : encodings) all.insert(all.end(), e.ids.begin(), e.ids.end());
  const auto block = static_cast<size_t>(seq_len);
  for (size_t start = 0; start + block <= all.size(); start += block)
    out.push_back(TokenizedExample{std::vector<int64_t>(all.begin() + static_cast<std::ptrdiff_t>(start),
                                                        all.begin() + static_cast<std::ptrdiff_t>(start + block)),
                                   {}});
  if (out.empty() && !all.empty()) out.push_back(TokenizedExample{all, {}});
  return out;
}

std::vector<int64_t> special_token_ids(const tokenizer::WordPiece& tok) {
  const auto& c = tok.config();
  std::vector<int64_t> ids;
  for (const auto* name : {&c.unk_token, &c.sep_token, &c.pad_token, &c.cls_token, &c.mask_token}) {
    int64_t id = tok.token_to_id(*name);
    if (id >= 0) ids.push_back(id);
  }
  return ids;
}

}  // namespace tz::train
