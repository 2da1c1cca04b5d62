// Entity-level precision / recall / F1 the way the `seqeval` Python package computes them in its
// default mode (what HF's `evaluate.load("seqeval")` and run_ner.py report), plus token accuracy.
//
// Default (non-strict, "conlleval") mode decides where chunks start and end from adjacent tags only:
//   - a tag's prefix is its first character (B, I, O, E, S; "." is never a chunk), its type is what
//     follows the first '-' ("B-PER" -> PER, "B-LOC-X" -> LOC-X, a bare "B" -> "_");
//   - an I- tag after O (or after an entity of another type) STARTS a new entity: "O I-PER I-PER"
//     is one PER entity [1, 2]. Strict mode (IOB2 scheme validation) would drop it; we do not
//     implement strict mode;
//   - a type change inside a chunk ends it and starts another: "B-PER I-LOC" is PER [0,0], LOC [1,1];
//   - sequences are concatenated with an "O" between them, so entities never span two sentences.
// An entity is (type, first index, last index); a prediction is correct only when all three match.
// Partner: token_classification.h (which produces the tag sequences).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace tz::train {

/// A chunk of a tag sequence: tokens [first, last] (inclusive, as seqeval) of one type.
struct Entity {
  std::string type;
  std::size_t first = 0, last = 0;
  bool operator==(const Entity&) const = default;
};

/// seqeval.metrics.sequence_labeling.get_entities (suffix=false) on one sequence.
std::vector<Entity> get_entities(const std::vector<std::string>& tags);

struct EntityScores {
  double precision = 0, recall = 0, f1 = 0;
  std::size_t support = 0;  ///< number of true entities
  std::size_t predicted = 0, correct = 0;
};

struct SeqevalReport {
  std::map<std::string, EntityScores> per_type;  ///< sorted by type name, as seqeval's report
  EntityScores overall;                         ///< micro average over all entities
  double accuracy = 0;                          ///< token accuracy (seqeval accuracy_score)
  std::size_t tokens = 0;
};

/// Scores predicted tag sequences against the true ones (same shapes, checked). Divisions by zero
/// give 0, as seqeval's zero_division default does (it also warns; we do not).
SeqevalReport seqeval(const std::vector<std::vector<std::string>>& y_true,
                      const std::vector<std::vector<std::string>>& y_pred);

}  // namespace tz::train
