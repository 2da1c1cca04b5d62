// `tensorzoo train rtd` end to end on a tiny corpus: a run resumed from a checkpoint repeats the
// uninterrupted run's losses exactly, the discriminator and generator directories load (the
// discriminator's encoder as the family's base model, as HF loads it) and fine-tune, and models
// that cannot share embeddings are refused before any training.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "models/registry.h"
#include "tests/cli/run_cli.h"

namespace fs = std::filesystem;

namespace {

struct Workspace {
  fs::path dir = fs::temp_directory_path() / ("tz_train_rtd_" + std::to_string(getpid()));
  Workspace() {
    fs::remove_all(dir);
    fs::create_directories(dir / "tok");
    const char* words[] = {"the", "cat", "dog", "sat", "on", "mat", "ran", "far", "and", "a", "big", "red"};
    std::ofstream vocab(dir / "tok" / "vocab.txt");
    vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n.\n";
    for (const char* w : words) vocab << w << "\n";
    std::ofstream corpus(dir / "corpus.txt");
    uint64_t x = 99;
    for (int line = 0; line < 60; ++line) {
      for (int i = 0; i < 6 + line % 5; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        corpus << (i ? " " : "") << words[(x >> 33) % 12];
      }
      corpus << " .\n";
    }
    std::ofstream(dir / "disc.json") << nlohmann::json{{"model_type", "convbert"}, {"hidden_size", 32},
                                                        {"embedding_size", 16}, {"num_hidden_layers", 2},
                                                        {"num_attention_heads", 4}, {"intermediate_size", 48},
                                                        {"conv_kernel_size", 3}, {"max_position_embeddings", 32}}
                                            .dump();
    std::ofstream(dir / "gen_wide.json") << nlohmann::json{{"model_type", "convbert"}, {"hidden_size", 16},
                                                            {"embedding_size", 24}, {"num_hidden_layers", 1},
                                                            {"num_attention_heads", 2}, {"intermediate_size", 32},
                                                            {"max_position_embeddings", 32}}
                                                .dump();
  }
  ~Workspace() { fs::remove_all(dir); }
  std::string cmd(const std::string& out, const std::string& extra = "") const {
    return std::string(TZ_CLI_PATH) + " train rtd --corpus " + (dir / "corpus.txt").string() + " --dev " +
           (dir / "corpus.txt").string() + " --config " + (dir / "disc.json").string() + " --tokenizer " +
           (dir / "tok").string() + " --out " + (dir / out).string() +
           " --generator-size 0.5 --steps 8 --batch-size 4 --seq-len 16 --threads 1 --log-every 1 --save-every 4"
           " --eval-every 4 --quiet " + extra + " 2>&1";
  }
  std::string losses(const std::string& out) const {
    std::ifstream in(dir / out / "metrics.jsonl");
    std::string line, all;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) all += j["loss"].dump() + " ";
    }
    return all;
  }
};

}  // namespace

TEST_CASE("train rtd: resume is exact, outputs load as HF would, bad pairs are refused", "[cli][train][rtd]") {
  Workspace ws;
  int code = 0;
  std::string log = tz::test::capture_command(ws.cmd("straight"), &code);
  INFO(log);
  REQUIRE(code == 0);
  CHECK(log.find("discriminator_auc=") != std::string::npos);
  CHECK(log.find("generator_accuracy=") != std::string::npos);
  log = tz::test::capture_command(ws.cmd("resumed", "--stop-after 4"), &code);
  REQUIRE(code == 0);
  log = tz::test::capture_command(ws.cmd("resumed", "--resume"), &code);
  REQUIRE(code == 0);
  CHECK(ws.losses("straight").size() > 20);
  CHECK(ws.losses("straight") == ws.losses("resumed"));

  // The discriminator's encoder loads as ConvBertModel (the head's weights unused), the
  // discriminator whole as its own class, the generator as a masked LM.
  tz::models::LoadOptions quiet;
  quiet.verbose = false;
  tz::models::LoadReport report;
  quiet.architecture = "ConvBertModel";
  auto encoder = tz::models::from_pretrained((ws.dir / "straight" / "discriminator").string(), quiet, &report);
  CHECK(report.missing.empty());
  CHECK(report.unexpected.size() == 4);  // discriminator_predictions.{dense,dense_prediction}.{weight,bias}
  quiet.architecture = "";
  quiet.strict = true;
  auto disc = tz::models::from_pretrained((ws.dir / "straight" / "discriminator").string(), quiet);
  CHECK(disc->architecture() == "ConvBertForPreTraining");
  auto gen = tz::models::from_pretrained((ws.dir / "straight" / "generator").string(), quiet);
  CHECK(gen->architecture() == "ConvBertForMaskedLM");
  CHECK(gen->config().hidden_size == 16);

  // Fine-tuning starts from the discriminator directory.
  {
    std::ofstream t(ws.dir / "train.tsv");
    t << "sentence\tlabel\nthe cat sat\tx\nthe dog ran far\ty\na big red mat\tx\nthe cat ran\ty\n";
  }
  log = tz::test::capture_command(std::string(TZ_CLI_PATH) + " train classify --model " +
                                      (ws.dir / "straight" / "discriminator").string() + " --tokenizer " +
                                      (ws.dir / "tok").string() + " --train " + (ws.dir / "train.tsv").string() +
                                      " --dev " + (ws.dir / "train.tsv").string() + " --out " +
                                      (ws.dir / "cls").string() + " --steps 2 --batch-size 2 --seq-len 16 --threads 1 --quiet 2>&1",
                                  &code);
  INFO(log);
  CHECK(code == 0);

  // A generator whose embedding size differs cannot share the discriminator's embeddings.
  log = tz::test::capture_command(
      ws.cmd("bad", "--generator-config " + (ws.dir / "gen_wide.json").string()), &code);
  CHECK(code == 1);
  CHECK(log.find("cannot share embeddings") != std::string::npos);
  CHECK(log.find("embedding size") != std::string::npos);
  CHECK(!fs::exists(ws.dir / "bad" / "discriminator"));
}
