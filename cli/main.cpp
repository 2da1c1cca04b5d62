// `tensorzoo`: dispatches to the subcommand named by the first argument (see command.h).
// Library errors (tz::Error) are printed as "error: ..." with exit code 1; usage errors exit 2.
// Started by mpirun (or given --distributed), it joins the MPI job first (distributed/): an error
// on any rank then stops every rank, naming the rank, instead of leaving the others waiting
// (abort_all_ranks.h: the library throws, only this program decides to end the job).
#include <algorithm>
#include <exception>
#include <iostream>

#include "cli/abort_all_ranks.h"
#include "cli/command.h"
#include "distributed/communicator.h"

namespace tz::cli {
std::map<std::string, CommandInfo>& registry() {
  static std::map<std::string, CommandInfo> commands;
  return commands;
}
}  // namespace tz::cli

static void print_help() {
  std::cout << "usage: tensorzoo <command> [options]\n\n"
               "tensorzoo: a small C++ tensor library, autograd, nn modules and ConvBERT.\n\n"
               "commands:\n";
  for (const auto& [name, info] : tz::cli::registry())
    std::cout << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ')
              << info.summary << "\n";
  std::cout << "\nRun 'tensorzoo <command> --help' for a command's options.\n";
}

int main(int argc, char** argv) {
  if (argc < 2) {
    print_help();
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_help();
    return 0;
  }
  auto& commands = tz::cli::registry();
  auto it = commands.find(name);
  if (it == commands.end()) {
    std::cerr << "error: unknown command '" << name << "'\n\n";
    print_help();
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  auto flag = std::find(args.begin(), args.end(), std::string("--distributed"));
  const bool force_mpi = flag != args.end();
  if (force_mpi) args.erase(flag);
  int rc = 1;
  try {
    tz::dist::init(force_mpi);
    rc = it->second.run(args);
  } catch (const std::exception& e) {
    if (tz::dist::world_size() > 1) tz::cli::abort_all_ranks(e.what());
    std::cerr << "error: " << e.what() << "\n";
    rc = 1;
  }
  tz::dist::finalize();
  return rc;
}
