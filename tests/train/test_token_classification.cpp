// Token classification: readers, label alignment to word pieces (first piece / every piece, special
// tokens, truncation), dynamic padding, and BIO merging with character offsets, on a tiny vocabulary.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tensor/tensor.h"
#include "train/token_classification.h"

using namespace tz::train;
using tz::tokenizer::WordPiece;

namespace {

WordPiece tiny_tokenizer() {
  return WordPiece::from_tokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "john", "play", "##s", "in", "new",
                                 "york", "hu", "##gging", "face", "zoe", "lives", "."});
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / ("tz_test_tokcls_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

// Tags sorted: B-LOC 0, B-ORG 1, B-PER 2, I-LOC 3, I-ORG 4, O 5.
const TagSet kTags({"B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "O"});
constexpr int64_t X = kTokenClassificationIgnore;

}  // namespace

TEST_CASE("token classification: the first piece of a word gets its label, the rest -100", "[train][tokcls]") {
  auto tok = tiny_tokenizer();
  TokenClassificationExample ex{{"John", "plays", "in", "New", "York"}, {"B-PER", "O", "O", "B-LOC", "I-LOC"}};
  auto f = make_token_classification_feature(tok, ex, kTags);
  //                      [CLS] john play ##s in new york [SEP]
  CHECK(f.input_ids == std::vector<int64_t>{2, 5, 6, 7, 8, 9, 10, 3});
  CHECK(f.word_ids == std::vector<int32_t>{-1, 0, 1, 1, 2, 3, 4, -1});
  CHECK(f.labels == std::vector<int64_t>{X, 2, 5, X, 5, 0, 3, X});
  CHECK(f.attention_mask == std::vector<int64_t>(8, 1));
  CHECK(f.token_type_ids == std::vector<int64_t>(8, 0));
}

TEST_CASE("token classification: label_all_pieces labels every piece, B- continues as I-", "[train][tokcls]") {
  auto tok = tiny_tokenizer();
  TokenClassificationExample ex{{"Hugging", "Face", "plays"}, {"B-ORG", "I-ORG", "O"}};
  auto first = make_token_classification_feature(tok, ex, kTags);
  //                      [CLS] hu ##gging face play ##s [SEP]
  CHECK(first.input_ids == std::vector<int64_t>{2, 11, 12, 13, 6, 7, 3});
  CHECK(first.labels == std::vector<int64_t>{X, 1, X, 4, 5, X, X});
  auto all = make_token_classification_feature(tok, ex, kTags, {.max_length = 512, .label_all_pieces = true});
  CHECK(all.labels == std::vector<int64_t>{X, 1, 4, 4, 5, 5, X});
  // Without an I- tag for the type, the B- tag is repeated.
  TagSet no_inside({"B-ORG", "O"});
  TokenClassificationExample ex2{{"Hugging"}, {"B-ORG"}};
  auto b = make_token_classification_feature(tok, ex2, no_inside, {.max_length = 512, .label_all_pieces = true});
  CHECK(b.labels == std::vector<int64_t>{X, 0, 0, X});
}

TEST_CASE("token classification: truncation cuts pieces, keeps [SEP], drops the labels of cut words", "[train][tokcls]") {
  auto tok = tiny_tokenizer();
  TokenClassificationExample ex{{"John", "plays", "in", "New", "York"}, {"B-PER", "O", "O", "B-LOC", "I-LOC"}};
  auto f = make_token_classification_feature(tok, ex, kTags, {.max_length = 5});
  CHECK(f.input_ids == std::vector<int64_t>{2, 5, 6, 7, 3});  // "plays" keeps both pieces by luck of the cut
  CHECK(f.labels == std::vector<int64_t>{X, 2, 5, X, X});
  auto g = make_token_classification_feature(tok, ex, kTags, {.max_length = 4});
  CHECK(g.input_ids == std::vector<int64_t>{2, 5, 6, 3});  // a word cut in the middle keeps its first label
  CHECK(g.labels == std::vector<int64_t>{X, 2, 5, X});
  // Unknown words become [UNK] and still carry their word's label.
  TokenClassificationExample unk{{"xyzzy", "lives"}, {"B-PER", "O"}};
  auto u = make_token_classification_feature(tok, unk, kTags);
  CHECK(u.input_ids == std::vector<int64_t>{2, 1, 15, 3});
  CHECK(u.labels == std::vector<int64_t>{X, 2, 5, X});
  CHECK_THROWS_WITH(make_token_classification_feature(tok, {{"john"}, {"B-XYZ"}}, kTags),
                    Catch::Contains("unknown tag 'B-XYZ'"));
}

TEST_CASE("token classification: dynamic padding pads labels with -100", "[train][tokcls]") {
  auto tok = tiny_tokenizer();
  std::vector<TokenClassificationExample> exs{{{"John"}, {"B-PER"}}, {{"New", "York", "lives"}, {"B-LOC", "I-LOC", "O"}}};
  auto feats = make_token_classification_features(tok, exs, kTags);
  std::vector<std::size_t> idx{0, 1};
  auto in = collate_token_classification(feats, idx, tok.pad_id());
  REQUIRE(in.input_ids.shape() == tz::Shape{2, 5});
  CHECK(in.input_ids.to_vector<int64_t>() == std::vector<int64_t>{2, 5, 3, 0, 0, 2, 9, 10, 15, 3});
  CHECK(in.attention_mask.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1, 0, 0, 1, 1, 1, 1, 1});
  CHECK(in.labels.to_vector<int64_t>() == std::vector<int64_t>{X, 2, X, X, X, X, 0, 3, 5, X});
  std::vector<std::size_t> one{0};
  CHECK(collate_token_classification(feats, one, 0).input_ids.shape() == tz::Shape{1, 3});
}

TEST_CASE("token classification: readers for CoNLL and JSONL; label sets", "[train][tokcls]") {
  auto conll = write_temp("a.conll",
                          "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\nPeter\tB-PER\n"
                          "Blackburn I-PER\r\n");
  auto c = read_token_classification(conll);
  REQUIRE(c.size() == 2);
  CHECK(c[0].words == std::vector<std::string>{"EU", "rejects"});
  CHECK(c[0].tags == std::vector<std::string>{"B-ORG", "O"});
  CHECK(c[1].words == std::vector<std::string>{"Peter", "Blackburn"});
  CHECK(c[1].tags == std::vector<std::string>{"B-PER", "I-PER"});
  CHECK(collect_labels(c).names() == std::vector<std::string>{"B-ORG", "B-PER", "I-PER", "O"});

  auto jsonl = write_temp("a.jsonl", "{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [3, 0]}\n\n{\"tokens\": [\"c\"], \"ner_tags\": [10]}\n");
  auto j = read_token_classification(jsonl);
  REQUIRE(j.size() == 2);
  CHECK(j[0].tags == std::vector<std::string>{"3", "0"});
  CHECK(collect_labels(j).names() == std::vector<std::string>{"0", "3", "10"});  // numeric order
  auto named = write_temp("b.jsonl", "{\"tokens\": [\"a\", \"b\"], \"tags\": [1, 0]}\n");
  CHECK(read_token_classification(named, {"O", "B-X"})[0].tags == std::vector<std::string>{"B-X", "O"});
  auto bad = write_temp("c.jsonl", "{\"tokens\": [\"a\", \"b\"], \"tags\": [\"O\"]}\n");
  CHECK_THROWS_WITH(read_token_classification(bad), Catch::Contains("c.jsonl:1: 2 tokens but 1 tags"));
  auto bad2 = write_temp("d.conll", "word\n");
  CHECK_THROWS_WITH(read_token_classification(bad2), Catch::Contains("d.conll:1: expected 'word tag'"));

  // run_ner's rule: the config's labels when they are not the defaults and match the data.
  CHECK(choose_labels(c, {"O", "B-ORG", "B-PER", "I-PER"}).names() == std::vector<std::string>{"O", "B-ORG", "B-PER", "I-PER"});
  CHECK(choose_labels(c, {"LABEL_0", "LABEL_1"}).names() == collect_labels(c).names());
  CHECK(choose_labels(c, {"O", "B-ORG"}).names() == collect_labels(c).names());
  for (auto p : {conll, jsonl, named, bad, bad2}) std::filesystem::remove(p);
}

TEST_CASE("token classification: tags for the metric come from labelled positions only", "[train][tokcls]") {
  auto tok = tiny_tokenizer();
  TokenClassificationExample ex{{"John", "plays"}, {"B-PER", "O"}};
  auto f = make_token_classification_feature(tok, ex, kTags);  // [CLS] john play ##s [SEP]
  std::vector<float> logits(5 * 6, 0.f);
  logits[1 * 6 + 2] = 5;  // john -> B-PER
  logits[2 * 6 + 0] = 5;  // play -> B-LOC (wrong)
  logits[3 * 6 + 5] = 5;  // ##s is ignored
  std::vector<std::string> truth, pred;
  tags_for_metric(f, logits.data(), 6, kTags, truth, pred);
  CHECK(truth == std::vector<std::string>{"B-PER", "O"});
  CHECK(pred == std::vector<std::string>{"B-PER", "B-LOC"});
}

TEST_CASE("token classification: words and BIO entities with character offsets", "[train][tokcls]") {
  auto tok = tiny_tokenizer();
  std::string text = "Zo\u00eb lives in New York.";
  tz::tokenizer::EncodeOptions opt;
  opt.char_offsets = true;
  auto enc = tok.encode(text, opt);
  // [CLS] zoe lives in new york . [SEP]
  REQUIRE(enc.ids == std::vector<int64_t>{2, 14, 15, 8, 9, 10, 16, 3});
  std::vector<float> logits(enc.size() * 6, 0.f);
  auto set = [&](std::size_t t, int label, float v) { logits[t * 6 + static_cast<std::size_t>(label)] = v; };
  set(1, 2, 3.f);  // zoe B-PER
  set(2, 5, 3.f);  // lives O
  set(3, 5, 3.f);  // in O
  set(4, 0, 2.f);  // new B-LOC
  set(5, 3, 4.f);  // york I-LOC
  set(6, 5, 3.f);  // . O
  set(0, 1, 9.f);  // [CLS] is never a word
  auto r = tags_from_logits(text, enc, logits.data(), kTags);
  REQUIRE(r.words.size() == 6);
  CHECK(r.words[0].text == "Zo\u00eb");
  CHECK(r.words[0].begin == 0);
  CHECK(r.words[0].end == 3);  // code points, not bytes
  CHECK(r.words[0].label == "B-PER");
  CHECK(r.words[0].score == Approx(std::exp(3.0) / (std::exp(3.0) + 5)));
  CHECK(r.words[4].text == "York");
  CHECK(r.words[4].begin == 17);
  REQUIRE(r.entities.size() == 2);
  CHECK(r.entities[0].type == "PER");
  CHECK(r.entities[0].text == "Zo\u00eb");
  CHECK(r.entities[1].type == "LOC");
  CHECK(r.entities[1].text == "New York");
  CHECK(r.entities[1].begin == 13);
  CHECK(r.entities[1].end == 21);
  CHECK(r.entities[1].first_word == 3);
  CHECK(r.entities[1].last_word == 4);
  float s3 = static_cast<float>(std::exp(2.0) / (std::exp(2.0) + 5)), s4 = static_cast<float>(std::exp(4.0) / (std::exp(4.0) + 5));
  CHECK(r.entities[1].score == Approx((s3 + s4) / 2));
}

TEST_CASE("group_entities: seqeval's chunks on B/I/O tags; plain labels group by name", "[train][tokcls]") {
  // Every B/I/O sequence of length 5 over two types: the pipeline grouping equals seqeval's.
  const std::vector<std::string> alphabet{"O", "B-A", "I-A", "B-B", "I-B"};
  for (int code = 0; code < 5 * 5 * 5 * 5 * 5; ++code) {
    std::vector<std::string> tags;
    for (int k = 0, c = code; k < 5; ++k, c /= 5) tags.push_back(alphabet[static_cast<std::size_t>(c % 5)]);
    INFO(tags[0] << " " << tags[1] << " " << tags[2] << " " << tags[3] << " " << tags[4]);
    CHECK(group_entities(tags) == get_entities(tags));
  }
  CHECK(group_entities({"LABEL_3", "LABEL_3", "O", "LABEL_2"}) ==
        std::vector<Entity>{{"LABEL_3", 0, 1}, {"LABEL_2", 3, 3}});
}

#include <cmath>

#include "autograd/grad_mode.h"
#include "models/registry.h"
#include "nn/optim.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

TEST_CASE("token classification: collated batches train the tiny reference model", "[train][tokcls][reference]") {
  if (!tz::test::have_reference("convbert/tiny-token-cls")) return;
  auto dir = (tz::test::reference_dir() / "convbert" / "tiny-token-cls").string();
  tz::models::LoadOptions lo;
  lo.verbose = false;
  auto model = tz::models::from_pretrained(dir, lo);
  model->eval();  // no dropout: the loss is a deterministic function of the weights
  auto tok = WordPiece::from_pretrained(dir);
  TagSet tags({"B-LOC", "B-PER", "I-LOC", "I-PER", "O"});  // the model has 5 labels
  std::vector<TokenClassificationExample> data{
      {{"John", "Smith", "lives", "in", "New", "York"}, {"B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"}},
      {{"Mary", "went", "to", "Paris"}, {"B-PER", "O", "O", "B-LOC"}},
      {{"the", "river", "is", "near", "London"}, {"O", "O", "O", "O", "B-LOC"}},
      {{"we", "met", "Peter"}, {"O", "O", "B-PER"}}};
  auto feats = make_token_classification_features(tok, data, tags);
  std::vector<std::size_t> all{0, 1, 2, 3};
  auto batch = collate_token_classification(feats, all, tok.pad_id());

  // The model's loss is the cross-entropy over the positions whose label is not -100.
  {
    tz::NoGradGuard no_grad;
    auto out = model->forward(batch);
    auto logits = tz::raw::contiguous(out.logits).to_vector<float>();
    auto labels = batch.labels.to_vector<int64_t>();
    double sum = 0;
    int n = 0;
    for (std::size_t t = 0; t < labels.size(); ++t) {
      if (labels[t] == kTokenClassificationIgnore) continue;
      const float* row = logits.data() + t * 5;
      double z = 0;
      for (int k = 0; k < 5; ++k) z += std::exp(static_cast<double>(row[k]));
      sum += std::log(z) - row[labels[t]];
      ++n;
    }
    CHECK(n == 18);  // one label per word
    CHECK(out.loss.item() == Approx(sum / n).epsilon(1e-5));
  }

  auto before = evaluate_token_classification(*model, feats, tags, 3, tok.pad_id());
  tz::optim::AdamW opt(model->parameters(), {.lr = 3e-3, .weight_decay = 0.0});
  for (int step = 0; step < 60; ++step) {
    auto out = model->forward(batch);
    opt.zero_grad();
    out.loss.backward();
    opt.step();
  }
  SeqevalReport report;
  auto after = evaluate_token_classification(*model, feats, tags, 3, tok.pad_id(), &report);
  INFO("loss " << before.at("eval_loss") << " -> " << after.at("eval_loss") << ", f1 " << before.at("f1") << " -> "
               << after.at("f1"));
  CHECK(after.at("eval_loss") < 0.5 * before.at("eval_loss"));
  CHECK(after.at("accuracy") == 1.0);
  CHECK(after.at("f1") == 1.0);
  CHECK(report.overall.support == 6);
}
