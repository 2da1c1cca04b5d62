// train_tiny: trains a tiny sentiment classifier (ConvBERT here; any family of the zoo works) from scratch on a dozen in-code
// sentences with AdamW, prints the loss as it falls, and saves an HF model directory that
// classify_app (and HF's from_pretrained) can load:
//
//   train_tiny OUT_DIR  &&  echo "a great fun film" | classify_app OUT_DIR
#include <tensorzoo/tensorzoo.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string out_dir = argc > 1 ? argv[1] : "tiny-sentiment";
  // A toy dataset and a vocabulary that covers it (ids 0-4 are BERT's special tokens).
  const std::vector<std::string> texts = {
      "a great film", "good fun", "i loved it", "great acting and a good story", "fun and great",
      "really good", "loved the story", "a good great fun film",
      "a bad film", "boring", "i hated it", "bad acting and a dull story", "dull and boring",
      "really bad", "hated the story", "a bad dull boring film"};
  const std::vector<int64_t> labels = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  auto tokenizer = tz::tokenizer::WordPiece::from_tokens(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "great", "film", "good", "fun", "i", "loved",
       "it", "acting", "and", "story", "really", "the", "bad", "boring", "hated", "dull"});

  // Any family of the zoo: config.json's model_type picks it (tensorzoo info --list shows them).
  auto config = tz::models::config_from_json({{"model_type", "convbert"},
                                              {"vocab_size", tokenizer.vocab_size()},
                                              {"hidden_size", 32},
                                              {"embedding_size", 32},
                                              {"num_hidden_layers", 2},
                                              {"num_attention_heads", 4},
                                              {"intermediate_size", 64},
                                              {"max_position_embeddings", 64},
                                              {"pad_token_id", 0},
                                              {"id2label", {{"0", "negative"}, {"1", "positive"}}}});
  auto model = tz::models::create(*config, "sequence-classification", /*seed=*/42);

  // The whole dataset is one batch, padded to its longest sentence.
  tz::tokenizer::EncodeOptions options;
  options.padding = tz::tokenizer::Padding{};
  auto enc = tokenizer.encode_batch(texts, options);
  const int64_t B = static_cast<int64_t>(enc.size()), T = static_cast<int64_t>(enc[0].size());
  std::vector<int64_t> ids, mask;
  for (const auto& e : enc) {
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
  }
  tz::models::Inputs batch;
  batch.input_ids = tz::raw::from_vector(ids, {B, T});
  batch.attention_mask = tz::raw::from_vector(mask, {B, T});
  batch.labels = tz::raw::from_vector(labels, {B});

  model->train();
  tz::optim::AdamW optimizer(model->parameters(), {.lr = 3e-3, .weight_decay = 0.01});
  for (int step = 0; step <= 60; ++step) {
    tz::Tensor loss = model->forward(batch).loss;   // cross-entropy, since labels are given
    if (step % 10 == 0) std::printf("step %2d  loss %.4f\n", step, loss.item());
    loss.backward();
    tz::nn::clip_grad_norm(model->parameters(), 1.0);
    optimizer.step();
    optimizer.zero_grad();
  }

  model->eval();
  tz::models::save_pretrained(*model, out_dir);  // config.json + model.safetensors
  tokenizer.save_vocabulary(out_dir);              // vocab.txt
  std::printf("saved to %s\n", out_dir.c_str());
  return 0;
}
