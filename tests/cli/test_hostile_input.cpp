// Bad input at every door of the `tensorzoo` command: for each command that `tensorzoo --help`
// lists, a table of hostile arguments and files (missing and empty files, a directory instead of
// a file, invalid UTF-8, a 10 MB line, NaN and Inf weights, labels and ids out of range, a config
// whose sizes multiply past memory, corrupt training state). Every case must end with:
//  - no crash: a normal exit (no signal, no abort, no sanitizer report, no uncaught exception);
//  - a refused case: exit code != 0 and exactly one "error: ..." line on stderr that says what is
//    wrong in words (not the bare what() of a standard-library exception);
//  - a survived case (input the command may legitimately accept, such as a 10 MB line it
//    truncates): exit code 0, or the refusal above;
//  - no output left half written: when the case names an output, after a refusal it does not
//    exist or holds only complete files (every JSON, JSONL and safetensors file in it parses).
// A command missing from the table fails the test by name, so commands added later get cases.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "models/registry.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

enum class Expect { Refuse, Survive };

struct Case {
  Case(std::string a, Expect e = Expect::Refuse, std::string o = "") : args(std::move(a)), expect(e), output(std::move(o)) {}
  std::string args;    // after `tensorzoo`; {W} is the workspace folder
  Expect expect;
  std::string output;  // an output path the case names ({W}/...), checked after a refusal
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

struct Workspace {
  fs::path dir = fs::temp_directory_path() / ("tz_hostile_" + std::to_string(::getpid()));
  const std::vector<std::string> words = {"the", "cat", "dog", "sat", "on", "a", "mat", "red", "blue", "who", "?", "yes", "no", "."};

  Workspace() {
    fs::remove_all(dir);
    fs::create_directories(dir / "adir");
    fs::create_directories(dir / "tok");
    std::ofstream(dir / "empty.txt");
    {
      std::ofstream vocab(dir / "tok" / "vocab.txt");
      vocab << "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
      for (const auto& w : words) vocab << w << "\n";
    }
    std::ofstream(dir / "bad_utf8.txt", std::ios::binary) << "\xff\xfe\n\xc3\x28 cat\n";
    std::ofstream(dir / "not_json.json") << "{\"hidden_size\": 32,";
    {
      std::ofstream big(dir / "long_line.txt");
      std::string chunk;
      for (int i = 0; i < 64; ++i) chunk += words[static_cast<size_t>(i) % words.size()] + " ";
      for (size_t written = 0; written < (size_t{10} << 20); written += chunk.size()) big << chunk;
      big << "\nthe cat sat .\n";
    }
    std::ofstream(dir / "corpus.txt") << "the cat sat on a mat .\nthe dog sat on a red mat .\nwho sat ? the cat .\n";
    json tiny = {{"model_type", "convbert"}, {"vocab_size", 5 + words.size()}, {"hidden_size", 16},
                 {"embedding_size", 16}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
                 {"intermediate_size", 32}, {"max_position_embeddings", 32}, {"conv_kernel_size", 3},
                 {"pad_token_id", 0}};
    std::ofstream(dir / "config.json") << tiny.dump();
    json huge = tiny;
    // Each size passes validate(); only their product is past any machine's memory.
    huge["vocab_size"] = 1 << 24;
    huge["hidden_size"] = huge["embedding_size"] = huge["intermediate_size"] = 1 << 16;
    std::ofstream(dir / "huge_config.json") << huge.dump();
    fs::create_directories(dir / "huge_model");
    std::ofstream(dir / "huge_model" / "config.json") << huge.dump();
    json odd = tiny;
    odd["num_hidden_layers"] = 1e300;
    std::ofstream(dir / "odd_config.json") << odd.dump();
    json bert = {{"model_type", "bert"}, {"vocab_size", 5 + words.size()}, {"hidden_size", 16},
                 {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"intermediate_size", 32},
                 {"max_position_embeddings", 32}, {"pad_token_id", 0}};
    std::ofstream(dir / "bert_config.json") << bert.dump();
    json huge_bert = bert;
    huge_bert["vocab_size"] = huge_bert["hidden_size"] = 1 << 24;
    std::ofstream(dir / "huge_bert_config.json") << huge_bert.dump();

    for (const char* head : {"ConvBertForMaskedLM", "ConvBertForSequenceClassification", "ConvBertForQuestionAnswering",
                             "ConvBertForMultipleChoice", "ConvBertForTokenClassification", "ConvBertForPreTraining"})
      save_model(head, head, 0.0f);
    save_model("BertForMaskedLM", "BertForMaskedLM", 0.0f, "bert_config.json");
    save_model("bert_nan", "BertForSequenceClassification", std::nanf(""), "bert_config.json");
    save_model("nan", "ConvBertForSequenceClassification", std::nanf(""));
    save_model("inf", "ConvBertForMaskedLM", INFINITY);
    save_model("nan_mc", "ConvBertForMultipleChoice", std::nanf(""));
    save_model("nan_qa", "ConvBertForQuestionAnswering", std::nanf(""));
    save_model("nan_tag", "ConvBertForTokenClassification", std::nanf(""));

    // run: input ids outside the vocabulary; labels outside the classes; a file of garbage.
    tz::io::save_safetensors((dir / "ids_out_of_range.safetensors").string(),
                             {{"input_ids", tz::raw::from_vector(std::vector<int64_t>{2, 99999, 3}, {1, 3})}});
    tz::io::save_safetensors((dir / "labels_out_of_range.safetensors").string(),
                             {{"input_ids", tz::raw::from_vector(std::vector<int64_t>{2, 6, 3}, {1, 3})},
                              {"labels", tz::raw::from_vector(std::vector<int64_t>{7}, {1})}});
    tz::io::save_safetensors((dir / "negative_ids.safetensors").string(),
                             {{"input_ids", tz::raw::from_vector(std::vector<int64_t>{2, -4, 3}, {1, 3})}});
    std::ofstream(dir / "garbage.safetensors") << "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":";

    // rtd-step: a complete batch (B 1, T 4, V the vocabulary), then the same with NaN noise and
    // with a chosen-positions mask of the wrong shape.
    const int64_t V = static_cast<int64_t>(5 + words.size());
    auto rtd_inputs = [&](float noise, std::vector<int64_t> mask_shape) {
      std::vector<float> u(static_cast<size_t>(4 * V), 0.5f);
      u[static_cast<size_t>(V + 3)] = noise;  // at the chosen position 1
      std::vector<int64_t> mask(static_cast<size_t>(mask_shape[0] * mask_shape[1]), 0);
      mask[1] = 1;
      return std::vector<std::pair<std::string, tz::Tensor>>{
          {"input_ids", tz::raw::from_vector(std::vector<int64_t>{2, 5, 6, 3}, {1, 4})},
          {"attention_mask", tz::raw::from_vector(std::vector<int64_t>{1, 1, 1, 1}, {1, 4})},
          {"token_type_ids", tz::raw::from_vector(std::vector<int64_t>{0, 0, 0, 0}, {1, 4})},
          {"mlm_positions_mask", tz::raw::from_vector(mask, mask_shape)},
          {"noise_u", tz::raw::from_vector(u, {1, 4, V})},
          {"step1.noise_u", tz::raw::from_vector(u, {1, 4, V})}};
    };
    tz::io::save_safetensors((dir / "rtd.safetensors").string(), rtd_inputs(0.5f, {1, 4}));
    tz::io::save_safetensors((dir / "rtd_nan_noise.safetensors").string(), rtd_inputs(std::nanf(""), {1, 4}));
    tz::io::save_safetensors((dir / "rtd_bad_mask.safetensors").string(), rtd_inputs(0.5f, {2, 4}));

    // cache: a folder that breaks the HF cache layout (no snapshots/, a ref naming nothing).
    fs::create_directories(dir / "broken_cache" / "models--org--name" / "refs");
    std::ofstream(dir / "broken_cache" / "models--org--name" / "refs" / "main") << "not-a-commit";

    // train: tasks with labels out of range, an unknown tag, a corrupt checkpoint to resume from.
    std::ofstream(dir / "train.tsv") << "sentence\tlabel\nthe cat sat .\tpos\nthe dog sat .\tneg\n";
    std::ofstream(dir / "no_label_column.tsv") << "sentence\tother\nthe cat sat .\tpos\n";
    std::ofstream(dir / "mc.jsonl") << R"({"context": "a", "endings": ["yes", "no", "no", "no"], "label": 0})" << "\n";
    std::ofstream(dir / "mc_bad_label.jsonl") << R"({"context": "a", "endings": ["yes", "no", "no", "no"], "label": 7})" << "\n";
    std::ofstream(dir / "mc_negative_label.jsonl") << R"({"context": "a", "endings": ["yes", "no"], "label": -1})" << "\n";
    std::ofstream(dir / "tags.jsonl") << R"({"tokens": ["the", "cat"], "ner_tags": ["O", "B-ANI"]})" << "\n";
    std::ofstream(dir / "tags_int_out_of_range.jsonl") << R"({"tokens": ["the", "cat"], "ner_tags": [0, 99]})" << "\n";
    std::ofstream(dir / "tags_length_mismatch.jsonl") << R"({"tokens": ["the", "cat"], "ner_tags": ["O"]})" << "\n";
    std::ofstream(dir / "qa.jsonl")
        << R"({"id": "a", "question": "who ?", "context": "the cat sat", "answers": {"text": ["cat"], "answer_start": [4]}})"
        << "\n";
    std::ofstream(dir / "qa_start_out_of_range.jsonl")
        << R"({"id": "a", "question": "who ?", "context": "the cat", "answers": {"text": ["cat"], "answer_start": [9999]}})"
        << "\n";
    fs::create_directories(dir / "corrupt_run" / "checkpoints" / "step-1");
    std::ofstream(dir / "corrupt_run" / "checkpoints" / "step-1" / "trainer_state.json") << "{\"format\": \"tensorzoo-trainer-1\", \"step\": 1e300}";
  }
  ~Workspace() { fs::remove_all(dir); }

  // A model directory of `head` with a tiny config (ConvBERT's unless `config` names another) and
  // the tokenizer; `poison` (NaN or Inf)
  // goes into one weight unless it is 0.
  void save_model(const std::string& name, const std::string& head, float poison,
                  const std::string& config = "config.json") {
    auto c = tz::models::load_config((dir / config).string());
    if (head == "ConvBertForTokenClassification") c->id2label = {"O", "B-ANI"};
    auto model = tz::models::create(*c, head, 1);
    if (poison != 0.0f)
      for (const auto& [key, w] : model->state_dict())
        if (key.find("word_embeddings.weight") != std::string::npos) w.data<float>()[7] = poison;
    tz::models::save_pretrained(*model, (dir / "models" / name).string(), (dir / "tok").string());
  }
};

struct Outcome {
  int code = 0;
  bool signaled = false;
  std::string out, err;
};

Outcome run_cli(const Workspace& ws, const std::string& args) {
  const fs::path out = ws.dir / "stdout.txt", err = ws.dir / "stderr.txt";
  // A minute per case: a case that takes longer is a hang (timeout exits with 124 or 137).
  const std::string cmd = "cd '" + ws.dir.string() + "' && timeout -s KILL 600 " + std::string(TZ_CLI_PATH) + " " +
                          args + " < /dev/null > '" + out.string() + "' 2> '" + err.string() + "'";
  const int status = std::system(cmd.c_str());
  Outcome o;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  o.signaled = WIFSIGNALED(status) || o.code >= 124;
  o.out = slurp(out);
  o.err = slurp(err);
  return o;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The commands `tensorzoo --help` lists.
std::vector<std::string> listed_commands() {
  int code = 0;
  FILE* f = popen((std::string(TZ_CLI_PATH) + " --help").c_str(), "r");
  REQUIRE(f);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  code = pclose(f);
  REQUIRE(code == 0);
  std::vector<std::string> names;
  bool in_list = false;
  for (const auto& line : lines_of(text)) {
    if (line == "commands:") {
      in_list = true;
      continue;
    }
    if (in_list && line.rfind("  ", 0) == 0 && line.size() > 2 && line[2] != ' ')
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    else if (in_list && line.empty() && !names.empty())
      break;
  }
  return names;
}

// What a runtime prints when a program dies instead of refusing its input.
const char* kCrashSigns[] = {"terminate called", "Aborted", "Sanitizer", "runtime error:", "Segmentation fault",
                             "core dumped", "what():"};
// An error line that is only the what() of a standard-library or JSON exception says nothing
// about the input: it must name what was wrong in the command's words.
const char* kBareLibraryErrors[] = {"error: std::", "error: basic_string", "error: vector::", "error: map::at",
                                    "error: stoi", "error: stol", "error: stoull", "error: bad_optional_access",
                                    "error: [json.exception"};

// True when `p` holds a file that is not complete: a temporary file, or a JSON, JSONL or
// safetensors file that does not parse.
bool half_written(const fs::path& p) {
  if (!fs::exists(p)) return false;
  std::vector<fs::path> files;
  if (fs::is_directory(p)) {
    for (const auto& e : fs::recursive_directory_iterator(p))
      if (e.is_regular_file()) files.push_back(e.path());
  } else {
    files.push_back(p);
  }
  for (const auto& f : files) {
    if (f.filename().string().find(".tmp") != std::string::npos) return true;
    const std::string ext = f.extension().string();
    try {
      if (ext == ".json") json::parse(slurp(f)).is_null();
      if (ext == ".jsonl")
        for (const auto& line : lines_of(slurp(f))) json::parse(line).is_null();
      if (ext == ".safetensors") (void)tz::io::load_safetensors(f.string());
    } catch (const std::exception&) {
      return true;
    }
  }
  return false;
}

std::map<std::string, std::vector<Case>> cases() {
  const auto R = Expect::Refuse, S = Expect::Survive;
  const std::string tok = " --tokenizer {W}/tok", cfg = " --config {W}/config.json";
  const std::string mlm = "train mlm --out {W}/out_mlm --steps 2 --batch-size 2 --seq-len 16 --threads 1 --quiet" + tok;
  const std::string cls = "train classify --out {W}/out_cls --steps 2 --batch-size 2 --seq-len 16 --threads 1 --quiet" +
                          tok + cfg;
  const std::string tc = "train token-cls --out {W}/out_tc --steps 2 --batch-size 2 --seq-len 16 --threads 1 --quiet" +
                         tok + cfg;
  const std::string qa = "train qa --out {W}/out_qa --steps 2 --batch-size 2 --max-length 32 --doc-stride 8 "
                         "--threads 1 --quiet" + tok + cfg;
  const std::string rtd = "train rtd --out {W}/out_rtd --steps 2 --batch-size 2 --seq-len 16 --threads 1 --quiet" + tok;
  const std::string step = "rtd-step --generator {W}/models/ConvBertForMaskedLM --discriminator "
                           "{W}/models/ConvBertForPreTraining --output {W}/out_step.safetensors";
  const std::string mc = "train multiple-choice --out {W}/out_mc --steps 2 --batch-size 2 --seq-len 16 --threads 1 "
                         "--quiet" + tok + cfg;
  return {
      {"bench", {{"bench --config {W}/missing.json --reps 1 --warmup 0"},
                 {"bench --config {W}/empty.txt --reps 1 --warmup 0"},
                 {"bench --config {W}/adir --reps 1 --warmup 0"},
                 {"bench --config {W}/not_json.json --reps 1 --warmup 0"},
                 {"bench --config {W}/huge_config.json --reps 1 --warmup 0"},
                 {"bench --config {W}/odd_config.json --reps 1 --warmup 0"},
                 {"bench --config {W}/config.json --batch 0 --reps 1 --warmup 0"},
                 {"bench --config {W}/config.json --seq 100000 --reps 1 --warmup 0"},
                 {"bench --config {W}/config.json --threads abc"}}},
      {"cache", {{"cache list --cache-dir {W}/missing", S},
                 {"cache list --cache-dir {W}/broken_cache", S},  // skipped with a warning
                 {"cache remove org/name --cache-dir {W}/broken_cache --dry-run", S},
                 {"cache remove org/name --cache-dir {W}/adir"},
                 {"cache remove ../../etc --cache-dir {W}/adir"},
                 {"cache remove \"$(printf 'org/\\377')\" --cache-dir {W}/adir"},
                 {"cache frobnicate --cache-dir {W}/adir"},
                 {"cache --cache-dir {W}/adir"}}},
      {"choose", {{"choose --model {W}/missing --context a yes no"},
                  {"choose --model {W}/empty.txt --context a yes no"},
                  {"choose --model {W}/adir --context a yes no"},
                  {"choose --model {W}/models/nan_mc --context a yes no"},
                  {"choose --model {W}/models/ConvBertForMultipleChoice --context \"$(printf '\\377')\" yes no"},
                  {"choose --model {W}/models/ConvBertForMultipleChoice --context a yes no --max-length 0"}}},
      {"classify", {{"classify --model {W}/missing the cat"},
                    {"classify --model {W}/adir the cat"},
                    {"classify --model {W}/huge_model the cat"},
                    {"classify --model {W}/models/nan the cat"},
                    {"classify --model {W}/models/ConvBertForSequenceClassification --file {W}/missing.txt"},
                    {"classify --model {W}/models/ConvBertForSequenceClassification --file {W}/adir"},
                    {"classify --model {W}/models/ConvBertForSequenceClassification --file {W}/empty.txt"},
                    {"classify --model {W}/models/ConvBertForSequenceClassification --file {W}/bad_utf8.txt"},
                    {"classify --model {W}/models/ConvBertForSequenceClassification --file {W}/long_line.txt", S},
                    {"classify --model {W}/models/ConvBertForSequenceClassification --tokenizer {W}/empty.txt x"}}},
      {"data", {{"data fortunes-langid --out {W}/out_data --fortunes-dir {W}/missing", R, "{W}/out_data"},
                {"data fortunes-langid --out {W}/out_data --fortunes-dir {W}/empty.txt", R, "{W}/out_data"},
                {"data fortunes-langid --out {W}/out_data --fortunes-dir {W}/adir", R, "{W}/out_data"},
                {"data fortunes-langid --out {W}/empty.txt --fortunes-dir {W}/adir"},
                {"data no-such-set --out {W}/out_data", R, "{W}/out_data"}}},
      {"demo", {{"demo --out {W}/out_demo --reference {W}/missing", S, "{W}/out_demo"},  // tours a random model
                {"demo --out {W}/empty.txt --reference {W}/adir", R},
                {"demo --out {W}/out_demo --threads -2", R, "{W}/out_demo"}}},
      {"download", {{"download --cache-dir {W}/out_hf --offline org/name", R, "{W}/out_hf"},
                    {"download --cache-dir {W}/out_hf --offline ../evil", R, "{W}/out_hf"},
                    {"download --cache-dir {W}/out_hf --offline 'org/name@../../x'", R, "{W}/out_hf"},
                    {"download --cache-dir {W}/out_hf --offline \"$(printf 'org/\\377')\"", R, "{W}/out_hf"},
                    {"download --cache-dir {W}/empty.txt --offline org/name"},
                    {"download --cache-dir {W}/out_hf", R, "{W}/out_hf"}}},
      {"convert", {{"convert {W}/missing {W}/out_convert --to bin", R, "{W}/out_convert"},
                   {"convert {W}/models/nan {W}/out_convert --to bin", R, "{W}/out_convert"},
                   {"convert {W}/models/ConvBertForMaskedLM {W}/out_convert --to onnx", R, "{W}/out_convert"},
                   {"convert {W}/models/ConvBertForMaskedLM {W}/empty.txt --to bin"},
                   {"convert {W}/models/ConvBertForMaskedLM {W}/out_convert --to safetensors --max-shard-size 0", R,
                    "{W}/out_convert"},
                   {"convert {W}/models/ConvBertForMaskedLM {W}/out_convert --to tf --max-shard-size 1MB", R,
                    "{W}/out_convert"}}},
      {"embed", {{"embed --model {W}/missing the cat"},
                 {"embed --model {W}/models/inf the cat"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --file {W}/adir"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --file {W}/empty.txt"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --file {W}/bad_utf8.txt --output {W}/out_embed.jsonl",
                  R, "{W}/out_embed.jsonl"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --format safetensors the cat"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --format xml the cat"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --format safetensors --output {W}/adir the cat"},
                 {"embed --model {W}/models/ConvBertForMaskedLM --file {W}/long_line.txt --output {W}/out_long.jsonl",
                  S, "{W}/out_long.jsonl"}}},
      {"fill-mask", {{"fill-mask --model {W}/missing 'the [MASK]'"},
                     {"fill-mask --model {W}/models/inf 'the [MASK] sat'"},
                     {"fill-mask --model {W}/models/ConvBertForMaskedLM 'no mask here'"},
                     {"fill-mask --model {W}/models/ConvBertForMaskedLM --top-k 0 'the [MASK]'"},
                     {"fill-mask --model {W}/models/ConvBertForMaskedLM --top-k 99999999 'the [MASK]'", S},
                     {"fill-mask --model {W}/models/ConvBertForMaskedLM --file {W}/empty.txt"},
                     {"fill-mask --model {W}/models/ConvBertForMaskedLM \"$(printf 'the \\377 [MASK]')\""}}},
      {"info", {{"info {W}/missing"},
                {"info {W}/empty.txt"},
                {"info {W}/adir"},
                {"info {W}/huge_model", S},
                {"info {W}/models/nan", S}}},
      {"qa", {{"qa --model {W}/missing --question who --context 'the cat'"},
              {"qa --model {W}/models/nan_qa --question who --context 'the cat'"},
              {"qa --model {W}/models/ConvBertForQuestionAnswering --question who --context 'the cat' --max-length 3"},
              {"qa --model {W}/models/ConvBertForQuestionAnswering --question who --context 'the cat' --doc-stride 100000"},
              {"qa --model {W}/models/ConvBertForQuestionAnswering --question \"$(printf '\\377')\" --context 'the cat'"}}},
      {"rtd-step", {{step + " --inputs {W}/rtd.safetensors", S, "{W}/out_step.safetensors"},
                    {"rtd-step --generator {W}/missing --discriminator {W}/models/ConvBertForPreTraining --inputs "
                     "{W}/rtd.safetensors --output {W}/out_step.safetensors", R, "{W}/out_step.safetensors"},
                    {"rtd-step --generator {W}/models/ConvBertForMaskedLM --discriminator "
                     "{W}/models/ConvBertForSequenceClassification --inputs {W}/rtd.safetensors --output "
                     "{W}/out_step.safetensors", R, "{W}/out_step.safetensors"},
                    {"rtd-step --generator {W}/models/inf --discriminator {W}/models/ConvBertForPreTraining --inputs "
                     "{W}/rtd.safetensors --output {W}/out_step.safetensors", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/missing.safetensors", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/empty.txt", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/adir", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/garbage.safetensors", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/ids_out_of_range.safetensors", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/rtd_nan_noise.safetensors", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/rtd_bad_mask.safetensors", R, "{W}/out_step.safetensors"},
                    {step + " --inputs {W}/rtd.safetensors --lr nan", R, "{W}/out_step.safetensors"},
                    {"rtd-step --generator {W}/models/ConvBertForMaskedLM --discriminator {W}/models/ConvBertForPreTraining "
                     "--inputs {W}/rtd.safetensors --output {W}/adir"}}},
      {"quantize", {{"quantize {W}/missing {W}/out_quant --precision int8", R, "{W}/out_quant"},
                    {"quantize {W}/models/nan {W}/out_quant --precision int8", R, "{W}/out_quant"},
                    {"quantize {W}/models/ConvBertForMaskedLM {W}/out_quant --precision fp16", R, "{W}/out_quant"},
                    {"quantize {W}/models/ConvBertForMaskedLM {W}/out_quant --precision f32", R, "{W}/out_quant"},
                    {"quantize {W}/models/ConvBertForMaskedLM {W}/empty.txt --precision int8"}}},
      {"run", {{"run --model {W}/missing --inputs {W}/ids_out_of_range.safetensors --output {W}/out_run.safetensors", R,
                "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/missing.safetensors --output {W}/out_run.safetensors",
                R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/empty.txt --output {W}/out_run.safetensors", R,
                "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/adir --output {W}/out_run.safetensors", R,
                "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/garbage.safetensors --output {W}/out_run.safetensors",
                R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/ids_out_of_range.safetensors --output "
                "{W}/out_run.safetensors", R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/negative_ids.safetensors --output "
                "{W}/out_run.safetensors", R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForSequenceClassification --inputs {W}/labels_out_of_range.safetensors "
                "--output {W}/out_run.safetensors", R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/nan --inputs {W}/labels_out_of_range.safetensors --output {W}/out_run.safetensors",
                R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/bert_nan --inputs {W}/labels_out_of_range.safetensors --output "
                "{W}/out_run.safetensors", R, "{W}/out_run.safetensors"},
               {"run --model {W}/models/ConvBertForMaskedLM --inputs {W}/negative_ids.safetensors --output {W}/adir"}}},
      {"tag", {{"tag --model {W}/missing the cat"},
               {"tag --model {W}/models/nan_tag the cat"},
               {"tag --model {W}/models/ConvBertForTokenClassification \"$(printf 'the \\377 cat')\""},
               {"tag --model {W}/models/ConvBertForTokenClassification --max-length 1 the cat"}}},
      {"tokenize", {{"tokenize --tokenizer {W}/missing x"},
                    {"tokenize --tokenizer {W}/empty.txt x"},
                    {"tokenize --tokenizer {W}/adir x"},
                    {"tokenize --tokenizer {W}/bad_utf8.txt x"},
                    {"tokenize --tokenizer {W}/tok \"$(printf 'bad \\377 text')\""},
                    {"tokenize --tokenizer {W}/tok --cases {W}/missing.jsonl --output {W}/out_cases.jsonl", R,
                     "{W}/out_cases.jsonl"},
                    {"tokenize --tokenizer {W}/tok --cases {W}/bad_utf8.txt --output {W}/out_cases.jsonl", R,
                     "{W}/out_cases.jsonl"},
                    {"tokenize --tokenizer {W}/tok --cases {W}/adir --output {W}/out_cases.jsonl", R,
                     "{W}/out_cases.jsonl"},
                    {"tokenize --tokenizer {W}/tok --cases {W}/long_line.txt --output {W}/out_cases.jsonl", R,
                     "{W}/out_cases.jsonl"}}},
      {"train", {{mlm + " --corpus {W}/missing.txt" + cfg, R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/empty.txt" + cfg, R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/adir" + cfg, R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/bad_utf8.txt" + cfg, R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/long_line.txt" + cfg, S, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/corpus.txt --config {W}/huge_config.json", R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/corpus.txt --config {W}/odd_config.json", R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/corpus.txt --config {W}/empty.txt", R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/corpus.txt --model {W}/models/inf", R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/corpus.txt --config {W}/config.json --lr nan", R, "{W}/out_mlm"},
                 {mlm + " --corpus {W}/corpus.txt --config {W}/config.json --batch-size -3", R, "{W}/out_mlm"},
                 {"train mlm --out {W}/corrupt_run --resume --steps 2 --batch-size 2 --seq-len 16 --threads 1 --quiet "
                  "--corpus {W}/corpus.txt" + tok + cfg, R, "{W}/corrupt_run"},
                 {cls + " --train {W}/missing.tsv --dev {W}/train.tsv", R, "{W}/out_cls"},
                 {cls + " --train {W}/adir --dev {W}/train.tsv", R, "{W}/out_cls"},
                 {cls + " --train {W}/empty.txt --dev {W}/train.tsv", R, "{W}/out_cls"},
                 {cls + " --train {W}/no_label_column.tsv --dev {W}/train.tsv", R, "{W}/out_cls"},
                 {cls + " --train {W}/bad_utf8.txt --dev {W}/train.tsv", R, "{W}/out_cls"},
                 {tc + " --train {W}/tags_int_out_of_range.jsonl --dev {W}/tags.jsonl", R, "{W}/out_tc"},
                 {tc + " --train {W}/tags_length_mismatch.jsonl --dev {W}/tags.jsonl", R, "{W}/out_tc"},
                 {qa + " --train {W}/qa_start_out_of_range.jsonl --dev {W}/qa.jsonl", R, "{W}/out_qa"},
                 {mc + " --train {W}/mc_bad_label.jsonl --dev {W}/mc.jsonl", R, "{W}/out_mc"},
                 {mc + " --train {W}/mc_negative_label.jsonl --dev {W}/mc.jsonl", R, "{W}/out_mc"},
                 {mlm + " --corpus {W}/corpus.txt --config {W}/huge_bert_config.json", R, "{W}/out_mlm"},
                 {rtd + " --corpus {W}/missing.txt" + cfg, R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/bad_utf8.txt" + cfg, R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt --config {W}/huge_config.json", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt" + cfg + " --generator-size 0", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt" + cfg + " --mask-probability 2", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt" + cfg + " --discriminator-weight nan", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt" + cfg + " --generator-config {W}/bert_config.json", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt --model {W}/models/inf", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt --model {W}/models/ConvBertForPreTraining --generator-model "
                  "{W}/models/bert_nan", R, "{W}/out_rtd"},
                 {rtd + " --corpus {W}/corpus.txt" + cfg, S, "{W}/out_rtd"},
                 {"train no-such-task --out {W}/out_x", R, "{W}/out_x"}}},
      {"vocab", {{"vocab --corpus {W}/missing.txt --out {W}/out_vocab", R, "{W}/out_vocab"},
                 {"vocab --corpus {W}/empty.txt --out {W}/out_vocab", R, "{W}/out_vocab"},
                 {"vocab --corpus {W}/adir --out {W}/out_vocab", R, "{W}/out_vocab"},
                 {"vocab --corpus {W}/bad_utf8.txt --out {W}/out_vocab", S, "{W}/out_vocab"},  // replaced by U+FFFD
                 {"vocab --corpus {W}/corpus.txt --size 0 --out {W}/out_vocab", R, "{W}/out_vocab"},
                 {"vocab --corpus {W}/corpus.txt --out {W}/empty.txt", R},
                 {"vocab --corpus {W}/long_line.txt --size 40 --out {W}/out_vocab_long", S, "{W}/out_vocab_long"}}},
  };
}

}  // namespace

TEST_CASE("every command refuses hostile input with one clear error line, never a crash", "[cli][hostile]") {
  Workspace ws;
  const auto table = cases();
  const auto commands = listed_commands();
  REQUIRE(commands.size() >= 10);
  for (const auto& name : commands) {
    INFO("command '" << name << "' (listed by tensorzoo --help) has no hostile-input cases in this test");
    CHECK(table.count(name) == 1);
  }
  size_t ran = 0;
  for (const auto& [name, list] : table) {
    for (const Case& c : list) {
      const std::string args = replace_all(c.args, "{W}", ws.dir.string());
      const std::string output = replace_all(c.output, "{W}", ws.dir.string());
      if (output.find("/out_") != std::string::npos) fs::remove_all(output);  // a fresh output, not a fixture
      const Outcome o = run_cli(ws, args);
      ++ran;
      std::vector<std::string> problems;
      if (o.signaled) problems.push_back("killed by a signal or timed out");
      for (const char* sign : kCrashSigns)
        if (o.err.find(sign) != std::string::npos) problems.push_back(std::string("stderr shows '") + sign + "'");
      for (const char* bare : kBareLibraryErrors)
        if (o.err.find(bare) != std::string::npos) problems.push_back(std::string("a bare library error '") + bare + "'");
      if (!(c.expect == Expect::Survive && o.code == 0)) {
        if (o.code == 0) problems.push_back("exit code 0 (expected a refusal)");
        size_t error_lines = 0;
        for (const auto& line : lines_of(o.err)) error_lines += line.rfind("error: ", 0) == 0 && line.size() > 12;
        if (error_lines != 1) problems.push_back(std::to_string(error_lines) + " 'error: ...' lines on stderr (expected 1)");
        if (!output.empty() && half_written(output)) problems.push_back("output left half written: " + output);
      }
      if (!problems.empty()) {
        std::string list;
        for (const auto& p : problems) list += "\n  - " + p;
        FAIL_CHECK("tensorzoo " << args << "\nexit code " << o.code << list << "\nstderr:\n" << o.err.substr(0, 1500));
      }
    }
  }
  std::cout << "hostile input: " << ran << " cases over " << table.size() << " commands\n";
}
