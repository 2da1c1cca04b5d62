// seqeval's default-mode chunking and scores on hand-worked tag sequences.
#include <catch2/catch.hpp>

#include "train/seqeval.h"

using tz::train::Entity;
using tz::train::get_entities;

TEST_CASE("get_entities: B/I/O combinations", "[train][seqeval]") {
  CHECK(get_entities({"B-PER", "I-PER", "O", "B-LOC"}) == std::vector<Entity>{{"PER", 0, 1}, {"LOC", 3, 3}});
  // B after B of the same type starts a new entity.
  CHECK(get_entities({"B-PER", "B-PER", "I-PER"}) == std::vector<Entity>{{"PER", 0, 0}, {"PER", 1, 2}});
  CHECK(get_entities({"O", "O"}).empty());
  CHECK(get_entities({}).empty());
}

TEST_CASE("get_entities: I- without B- starts an entity (default, non-strict mode)", "[train][seqeval]") {
  CHECK(get_entities({"O", "I-PER", "I-PER", "O"}) == std::vector<Entity>{{"PER", 1, 2}});
  CHECK(get_entities({"I-ORG"}) == std::vector<Entity>{{"ORG", 0, 0}});
}

TEST_CASE("get_entities: a type change inside a span splits it", "[train][seqeval]") {
  CHECK(get_entities({"B-PER", "I-LOC", "I-LOC"}) == std::vector<Entity>{{"PER", 0, 0}, {"LOC", 1, 2}});
  CHECK(get_entities({"I-PER", "I-LOC"}) == std::vector<Entity>{{"PER", 0, 0}, {"LOC", 1, 1}});
}

TEST_CASE("get_entities: an entity running to the end of the sequence is closed", "[train][seqeval]") {
  CHECK(get_entities({"O", "B-MISC"}) == std::vector<Entity>{{"MISC", 1, 1}});
  CHECK(get_entities({"O", "B-MISC", "I-MISC"}) == std::vector<Entity>{{"MISC", 1, 2}});
  // Types after the first '-' (seqeval splits once), and bare tags get the type "_".
  CHECK(get_entities({"B-LOC-X", "I-LOC-X"}) == std::vector<Entity>{{"LOC-X", 0, 1}});
  CHECK(get_entities({"B", "I", "O"}) == std::vector<Entity>{{"_", 0, 1}});
}

TEST_CASE("seqeval scores: the example of seqeval's README", "[train][seqeval]") {
  std::vector<std::vector<std::string>> y_true{{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}};
  std::vector<std::vector<std::string>> y_pred{{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}};
  auto r = tz::train::seqeval(y_true, y_pred);
  CHECK(r.overall.precision == Approx(0.5));
  CHECK(r.overall.recall == Approx(0.5));
  CHECK(r.overall.f1 == Approx(0.5));
  CHECK(r.accuracy == Approx(0.8));
  CHECK(r.tokens == 10);
  REQUIRE(r.per_type.size() == 2);
  CHECK(r.per_type.at("MISC").f1 == 0.0);
  CHECK(r.per_type.at("MISC").support == 1);
  CHECK(r.per_type.at("PER").f1 == 1.0);
}

TEST_CASE("seqeval scores: entities never span two sentences; exact spans only", "[train][seqeval]") {
  // Truth: PER at the end of sentence 0 and an I-PER entity opening sentence 1 (two entities).
  std::vector<std::vector<std::string>> y_true{{"O", "B-PER"}, {"I-PER", "O"}};
  std::vector<std::vector<std::string>> y_pred{{"O", "B-PER"}, {"O", "O"}};
  auto r = tz::train::seqeval(y_true, y_pred);
  CHECK(r.overall.support == 2);
  CHECK(r.overall.predicted == 1);
  CHECK(r.overall.correct == 1);
  CHECK(r.overall.precision == 1.0);
  CHECK(r.overall.recall == 0.5);
  CHECK(r.overall.f1 == Approx(2.0 / 3.0));
  // A prediction one token short is wrong.
  auto r2 = tz::train::seqeval({{"B-LOC", "I-LOC"}}, {{"B-LOC", "O"}});
  CHECK(r2.overall.correct == 0);
  CHECK(r2.overall.f1 == 0.0);
  CHECK(r2.accuracy == 0.5);
  // No entities at all: every ratio is 0, not NaN.
  auto r3 = tz::train::seqeval({{"O"}}, {{"O"}});
  CHECK(r3.overall.f1 == 0.0);
  CHECK(r3.accuracy == 1.0);
  CHECK_THROWS_WITH(tz::train::seqeval({{"O"}}, {{"O", "O"}}), Catch::Contains("1 true tags but 2 predicted"));
}
