// HF's token-classification pipeline; see token_classification.h.
#include "train/pipelines/token_classification.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "tensor/ops.h"
#include "tokenizer/unicode.h"
#include "train/pipelines/pipeline.h"

namespace tz::pipelines {
namespace {

std::size_t code_points(const std::string& s) { return tokenizer::unicode::count_code_points(s, 0, s.size()); }

std::size_t argmax(const std::vector<double>& v) {
  return static_cast<std::size_t>(std::max_element(v.begin(), v.end()) - v.begin());  // the first maximum, as numpy
}

// HF's get_tag: ("B", X) for "B-X", ("I", X) for "I-X", ("I", label) for anything else.
std::pair<char, std::string> bio_tag(const std::string& label) {
  if (label.rfind("B-", 0) == 0) return {'B', label.substr(2)};
  if (label.rfind("I-", 0) == 0) return {'I', label.substr(2)};
  return {'I', label};
}

const std::string& label_of(const std::vector<std::string>& id2label, std::size_t id) {
  TZ_CHECK(id < id2label.size(), "token-classification: label id ", id, " is outside the model's ", id2label.size(),
           " labels");
  return id2label[id];
}

// HF's group_sub_entities: one entity_group from consecutive rows.
TokenEntity group_rows(const tokenizer::WordPiece& tok, const std::vector<TokenEntity>& rows) {
  const std::string& first = rows.front().entity;
  const std::size_t dash = first.find('-');
  TokenEntity g;
  g.entity = dash == std::string::npos ? first : first.substr(dash + 1);
  double sum = 0;
  std::vector<std::string> words;
  for (const TokenEntity& r : rows) {
    sum += r.score;
    words.push_back(r.word);
  }
  g.score = sum / static_cast<double>(rows.size());
  g.word = tok.convert_tokens_to_string(words);
  g.start = rows.front().start;
  g.end = rows.back().end;
  return g;
}

// HF's group_entities: a row joins the open group when its tag matches and it does not begin one.
std::vector<TokenEntity> group_entities(const tokenizer::WordPiece& tok, const std::vector<TokenEntity>& rows) {
  std::vector<TokenEntity> groups, open;
  for (const TokenEntity& r : rows) {
    if (!open.empty()) {
      auto [bi, tag] = bio_tag(r.entity);
      if (tag != bio_tag(open.back().entity).second || bi == 'B') {
        groups.push_back(group_rows(tok, open));
        open.clear();
      }
    }
    open.push_back(r);
  }
  if (!open.empty()) groups.push_back(group_rows(tok, open));
  return groups;
}

// HF's aggregate_word: one row from the tokens of one word.
TokenEntity aggregate_word(const tokenizer::WordPiece& tok, std::span<const TokenScores* const> tokens,
                           AggregationStrategy strategy, const std::vector<std::string>& id2label) {
  std::vector<std::string> words;
  for (const TokenScores* t : tokens) words.push_back(t->word);
  std::vector<double> scores;
  if (strategy == AggregationStrategy::First) {
    scores = tokens.front()->scores;
  } else if (strategy == AggregationStrategy::Max) {
    const TokenScores* best = tokens.front();  // max() keeps the first of equal maxima
    for (const TokenScores* t : tokens)
      if (*std::max_element(t->scores.begin(), t->scores.end()) > *std::max_element(best->scores.begin(), best->scores.end()))
        best = t;
    scores = best->scores;
  } else {
    scores.assign(tokens.front()->scores.size(), 0.0);
    for (const TokenScores* t : tokens)
      for (std::size_t l = 0; l < scores.size(); ++l) scores[l] += t->scores[l];
    for (double& s : scores) s /= static_cast<double>(tokens.size());
  }
  const std::size_t id = argmax(scores);
  TokenEntity row;
  row.entity = label_of(id2label, id);
  row.score = scores[id];
  row.word = tok.convert_tokens_to_string(words);
  row.start = tokens.front()->start;
  row.end = tokens.back()->end;
  return row;
}

}  // namespace

AggregationStrategy aggregation_strategy_from_name(const std::string& name) {
  if (name == "none") return AggregationStrategy::None;
  if (name == "simple") return AggregationStrategy::Simple;
  if (name == "first") return AggregationStrategy::First;
  if (name == "average") return AggregationStrategy::Average;
  if (name == "max") return AggregationStrategy::Max;
  throw Error(detail::concat("token-classification: unknown aggregation strategy '", name,
                             "' (expected none, simple, first, average or max)"));
}

std::vector<TokenScores> gather_token_scores(const tokenizer::WordPiece& tok, const std::string& text,
                                             const tokenizer::Encoding& encoding,
                                             const std::vector<std::vector<double>>& probs) {
  TZ_CHECK(encoding.char_offsets.size() == encoding.size() && encoding.offsets.size() == encoding.size(),
           "token-classification: the encoding needs offsets and char_offsets (EncodeOptions::char_offsets)");
  TZ_CHECK(probs.size() == encoding.size(), "token-classification: ", probs.size(), " score rows for ",
           encoding.size(), " tokens");
  std::vector<TokenScores> out;
  for (std::size_t t = 0; t < encoding.size(); ++t) {
    if (encoding.special_tokens_mask[t]) continue;
    const tokenizer::Offset bytes = encoding.offsets[t];
    TZ_CHECK(bytes.begin <= bytes.end && bytes.end <= text.size(), "token-classification: token ", t, " offsets [",
             bytes.begin, ", ", bytes.end, ") outside the text of ", text.size(), " bytes");
    const std::string under = text.substr(bytes.begin, bytes.end - bytes.begin);
    TokenScores s;
    s.word = encoding.tokens[t];
    s.scores = probs[t];
    s.start = encoding.char_offsets[t].begin;
    s.end = encoding.char_offsets[t].end;
    s.index = t;
    s.is_subword = code_points(s.word) != code_points(under);
    if (encoding.ids[t] == tok.unk_id()) {
      s.word = under;
      s.is_subword = false;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<TokenEntity> aggregate_tokens(const tokenizer::WordPiece& tok, const std::vector<TokenScores>& tokens,
                                          AggregationStrategy strategy, const std::vector<std::string>& id2label) {
  std::vector<TokenEntity> rows;
  if (strategy == AggregationStrategy::None || strategy == AggregationStrategy::Simple) {
    for (const TokenScores& t : tokens) {
      const std::size_t id = argmax(t.scores);
      rows.push_back({label_of(id2label, id), t.scores[id], t.word, t.start, t.end, t.index});
    }
    if (strategy == AggregationStrategy::None) return rows;
    for (TokenEntity& r : rows) r.index.reset();
    return group_entities(tok, rows);
  }
  // HF's aggregate_words: a sub-word joins the word before it; the first token always opens a word.
  std::vector<const TokenScores*> word;
  for (const TokenScores& t : tokens) {
    if (!word.empty() && !t.is_subword) {
      rows.push_back(aggregate_word(tok, word, strategy, id2label));
      word.clear();
    }
    word.push_back(&t);
  }
  if (!word.empty()) rows.push_back(aggregate_word(tok, word, strategy, id2label));
  return group_entities(tok, rows);
}

std::vector<TokenEntity> drop_labels(std::vector<TokenEntity> rows, const std::vector<std::string>& ignore_labels) {
  std::erase_if(rows, [&](const TokenEntity& r) {
    return std::find(ignore_labels.begin(), ignore_labels.end(), r.entity) != ignore_labels.end();
  });
  return rows;
}

std::vector<std::size_t> most_central_windows(std::size_t num_tokens, std::span<const std::size_t> starts,
                                              std::span<const std::size_t> lengths) {
  TZ_CHECK(starts.size() == lengths.size(), "most_central_windows: ", starts.size(), " starts but ", lengths.size(),
           " lengths");
  std::vector<std::size_t> choice(num_tokens);
  for (std::size_t i = 0; i < num_tokens; ++i) {
    bool found = false;
    std::size_t best_margin = 0;
    for (std::size_t k = 0; k < starts.size(); ++k) {
      if (i < starts[k] || i >= starts[k] + lengths[k]) continue;
      const std::size_t margin = std::min(i - starts[k], starts[k] + lengths[k] - 1 - i);
      if (!found || margin > best_margin) {
        choice[i] = k;
        best_margin = margin;
        found = true;
      }
    }
    TZ_CHECK(found, "most_central_windows: token ", i, " is in no window");
  }
  return choice;
}

std::vector<std::vector<TokenEntity>> classify_tokens(models::PreTrainedModel& model, const tokenizer::WordPiece& tok,
                                                      const std::vector<std::string>& texts,
                                                      const TokenClassificationOptions& options) {
  const std::vector<std::string>& id2label = model.config().id2label;
  tokenizer::EncodeOptions o;
  o.char_offsets = true;
  const std::size_t limit = input_limit(tok, model.config(), options.max_length);
  const std::size_t specials = tok.template_pieces(false).size() - 1;  // the template minus the text
  TZ_CHECK(limit > specials, "token-classification: max_length ", limit, " leaves no room for text (", specials,
           " special tokens per window)");
  o.truncation = tokenizer::Truncation{limit, tokenizer::TruncationStrategy::LongestFirst, options.stride.value_or(0)};
  // Every window of every text, flattened; first_window[i] is text i's first.
  std::vector<tokenizer::Encoding> windows;
  std::vector<std::size_t> first_window;
  for (const std::string& text : texts) {
    tokenizer::Encoding e = tok.encode(text, o);
    std::vector<tokenizer::Encoding> rest = std::move(e.overflowing);
    e.overflowing.clear();
    first_window.push_back(windows.size());
    windows.push_back(std::move(e));
    if (options.stride)
      for (auto& w : rest) windows.push_back(std::move(w));
  }
  first_window.push_back(windows.size());

  std::vector<const tokenizer::Encoding*> ptrs;
  for (const auto& w : windows) ptrs.push_back(&w);
  std::vector<std::vector<std::vector<double>>> probs(windows.size());  // [window][token][label]
  for_each_batch(model, ptrs, options.batch_size, [&](std::span<const std::size_t> indices, const models::Output& out) {
    const int64_t L = static_cast<int64_t>(id2label.size());
    TZ_CHECK(out.logits.defined() && out.logits.dim() == 3 && out.logits.size(2) == L, "token-classification: ",
             model.architecture(), " gives no logits [B, T, ", L, "]");
    Tensor logits = raw::contiguous(out.logits);
    const int64_t T = logits.size(1);
    for (std::size_t b = 0; b < indices.size(); ++b)
      for (int64_t t = 0; t < T; ++t)
        probs[indices[b]].push_back(softmax(std::span<const float>(
            logits.data<float>() + (static_cast<int64_t>(b) * T + t) * L, static_cast<std::size_t>(L))));
  });

  std::vector<std::vector<TokenEntity>> results;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const std::size_t w0 = first_window[i], w_end = first_window[i + 1];
    std::vector<TokenScores> tokens;
    if (w_end - w0 == 1) {
      tokens = gather_token_scores(tok, texts[i], windows[w0], probs[w0]);
    } else {
      // The whole text's tokens, each with the scores of the window where it is most central.
      tokenizer::EncodeOptions whole;
      whole.char_offsets = true;
      const tokenizer::Encoding all = tok.encode(texts[i], whole);
      std::vector<std::size_t> content;  // positions of the text's tokens in `all`
      for (std::size_t t = 0; t < all.size(); ++t)
        if (!all.special_tokens_mask[t]) content.push_back(t);
      std::vector<std::vector<std::size_t>> window_content(w_end - w0);
      std::vector<std::size_t> starts, lengths;
      for (std::size_t k = w0; k < w_end; ++k) {
        for (std::size_t t = 0; t < windows[k].size(); ++t)
          if (!windows[k].special_tokens_mask[t]) window_content[k - w0].push_back(t);
        // The tokenizer's windows step by (first window's tokens - stride).
        const std::size_t step = window_content[0].size() - *options.stride;
        starts.push_back((k - w0) * step);
        lengths.push_back(window_content[k - w0].size());
        for (std::size_t j = 0; j < lengths.back(); ++j)
          TZ_CHECK(starts.back() + j < content.size() &&
                       windows[k].ids[window_content[k - w0][j]] == all.ids[content[starts.back() + j]],
                   "token-classification: window ", k - w0, " of text ", i + 1, " does not line up with the text's tokens");
      }
      std::vector<std::vector<double>> merged(all.size());
      const std::vector<std::size_t> choice = most_central_windows(content.size(), starts, lengths);
      for (std::size_t c = 0; c < content.size(); ++c) {
        const std::size_t k = choice[c];
        merged[content[c]] = probs[w0 + k][window_content[k][c - starts[k]]];
      }
      tokens = gather_token_scores(tok, texts[i], all, merged);
    }
    results.push_back(drop_labels(aggregate_tokens(tok, tokens, options.aggregation, id2label), options.ignore_labels));
  }
  return results;
}

}  // namespace tz::pipelines
