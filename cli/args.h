// A small option parser shared by every subcommand: declare options with defaults and help text,
// parse, and get `--help` output and "error: --steps expects an integer, got 'x'" for free.
//
//   tz::cli::ArgParser p("tensorzoo tokenize", "Split text into WordPiece tokens.");
//   p.option("tokenizer", "PATH", "vocab.txt, tokenizer.json or a model directory", "");
//   p.flag("pair", "treat the two positional texts as a pair");
//   p.positional("text", "texts to tokenize", /*min=*/0);
//   if (!p.parse(args)) return p.exit_code();   // printed help (0) or an error (2)
//   std::string path = p.get("tokenizer");
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tz::cli {

class ArgParser {
 public:
  ArgParser(std::string program, std::string description);

  /// --name VALUE (also --name=VALUE). An empty default with required=true must be given.
  ArgParser& option(const std::string& name, const std::string& metavar, const std::string& help,
                    const std::string& default_value = "", bool required = false);
  /// --name VALUE that may be repeated (get_all returns every value).
  ArgParser& multi_option(const std::string& name, const std::string& metavar, const std::string& help);
  /// --name (boolean, default false).
  ArgParser& flag(const std::string& name, const std::string& help);
  /// Positional arguments collected in order under `name`.
  ArgParser& positional(const std::string& name, const std::string& help, size_t min_count = 0);

  /// Returns false when the caller should exit with exit_code(): 0 after --help, 2 on an error
  /// (the error and a hint are already printed to stderr).
  bool parse(const std::vector<std::string>& args);
  int exit_code() const { return exit_code_; }

  std::string get(const std::string& name) const;
  bool has(const std::string& name) const;  // given on the command line (or has a default)
  bool get_flag(const std::string& name) const;
  long long get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  std::vector<std::string> get_all(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

  std::string help() const;

 private:
  struct Opt {
    std::string metavar, help, default_value;
    bool is_flag = false, required = false, multi = false;
  };
  std::string program_, description_;
  std::vector<std::string> order_;
  std::map<std::string, Opt> opts_;
  std::map<std::string, std::vector<std::string>> values_;
  std::string positional_name_, positional_help_;
  size_t positional_min_ = 0;
  bool has_positional_ = false;
  std::vector<std::string> positionals_;
  int exit_code_ = 0;
};

}  // namespace tz::cli
