// Turning a text corpus into masked-LM training examples, as HF's run_mlm.py does:
//   packed (default): every line encoded as [CLS] line [SEP], all concatenated and cut into
//     blocks of exactly seq_len tokens (the remainder is dropped, unless it is the only block);
//   line_by_line: one example per line, truncated to seq_len.
// Not here: masking (mlm_collator.h); reading files (text_dataset.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/wordpiece.h"
#include "train/batching.h"

namespace tz::train {

std::vector<TokenizedExample> make_mlm_examples(const std::vector<std::string>& lines,
                                                const tokenizer::WordPiece& tok, int64_t seq_len,
                                                bool line_by_line, unsigned num_threads = 1);

/// HF's all_special_ids of a WordPiece tokenizer: [UNK], [SEP], [PAD], [CLS], [MASK] (those present).
std::vector<int64_t> special_token_ids(const tokenizer::WordPiece& tok);

}  // namespace tz::train
