// Subcommand registry for the `tensorzoo` CLI. Each subcommand lives in its own file
// (cli/<name>_command.cpp) and registers itself with a static Command object:
//
//   static tz::cli::Command reg{"tokenize", "split text into WordPiece tokens and ids", run_tokenize};
//
// main.cpp dispatches on the first argument, prints the list for `tensorzoo --help`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tz::cli {

/// A subcommand's entry point: the arguments after the subcommand name. Returns the exit code.
using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct CommandInfo {
  std::string summary;
  CommandFn run;
};

/// All registered subcommands, sorted by name.
std::map<std::string, CommandInfo>& registry();

struct Command {
  Command(const std::string& name, const std::string& summary, CommandFn run) {
    registry()[name] = CommandInfo{summary, std::move(run)};
  }
};

}  // namespace tz::cli
