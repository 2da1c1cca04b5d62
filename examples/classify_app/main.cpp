// classify_app: reads lines from stdin and prints, for each, the label a ConvBERT sequence
// classifier gives it and that label's probability:
//
//   classify_app MODEL_DIR < lines.txt      ->   LABEL<TAB>PROBABILITY<TAB>LINE
//
// MODEL_DIR is a HuggingFace model directory (config.json, model.safetensors or pytorch_model.bin,
// vocab.txt / tokenizer.json) of a ConvBertForSequenceClassification model.
#include <tensorzoo/tensorzoo.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: classify_app MODEL_DIR < lines.txt\n";
    return 2;
  }
  try {
    const std::string dir = argv[1];
    auto tokenizer = tz::tokenizer::WordPiece::from_pretrained(dir);
    auto model = tz::models::from_pretrained(dir, {.architecture = "sequence-classification"});
    model->eval();                 // dropout off
    tz::NoGradGuard no_grad;       // inference: no graph is recorded, and with eval() the base model
                                   // takes its graph-free path (models/convbert/inference.h)
    const auto& labels = model->config().id2label;
    tz::tokenizer::EncodeOptions options;
    // Longer lines are cut to the number of positions the model has.
    options.truncation = tz::tokenizer::Truncation{
        .max_length = static_cast<size_t>(model->config().max_position_embeddings)};

    std::string line;
    while (std::getline(std::cin, line)) {
      // One line at a time, so no padding: ConvBERT's convolution half sees padding (as in HF),
      // so padding a row to a batch's length changes its logits slightly.
      auto enc = tokenizer.encode(line, options);
      const int64_t T = static_cast<int64_t>(enc.size());
      tz::models::Inputs inputs;
      inputs.input_ids = tz::raw::from_vector(enc.ids, {1, T});
      inputs.token_type_ids = tz::raw::from_vector(enc.type_ids, {1, T});
      inputs.attention_mask = tz::raw::from_vector(enc.attention_mask, {1, T});

      tz::Tensor logits = model->forward(inputs).logits;   // [1, num_labels]
      std::vector<float> probs = tz::softmax(logits, -1).to_vector<float>();
      size_t best = 0;
      for (size_t i = 1; i < probs.size(); ++i)
        if (probs[i] > probs[best]) best = i;
      std::printf("%s\t%.6f\t%s\n", labels.at(best).c_str(), probs[best], line.c_str());
    }
  } catch (const std::exception& e) {   // tz::Error says what was wrong and where
    std::cerr << "classify_app: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
