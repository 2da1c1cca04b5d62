// `tensorzoo cache list|remove`: the HF cache as `huggingface-cli scan-cache` and `delete-cache`
// show and prune it: repos with their sizes, revisions and refs; removing a revision (its
// snapshot and the blobs no other revision uses) or a whole model. The work is hub/cache_scan.h.
#include <iomanip>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "hub/cache_scan.h"
#include "hub/environment.h"
#include "hub/progress_bar.h"

namespace tz::cli {
namespace {

std::string age(std::time_t when) {
  if (when == 0) return "-";
  const double seconds = std::difftime(std::time(nullptr), when);
  if (seconds < 120) return "just now";
  if (seconds < 7200) return std::to_string(static_cast<long>(seconds / 60)) + " minutes ago";
  if (seconds < 2 * 86400) return std::to_string(static_cast<long>(seconds / 3600)) + " hours ago";
  return std::to_string(static_cast<long>(seconds / 86400)) + " days ago";
}

void print_report(const hub::CacheReport& report) {
  std::cout << "cache: " << report.cache_dir << "\n";
  if (report.repos.empty()) std::cout << "(no cached repos)\n";
  for (const auto& repo : report.repos) {
    std::cout << "\n" << repo.repo_type << " " << repo.repo_id << "  " << hub::format_size(repo.size) << "  "
              << repo.blob_count << " files  modified " << age(repo.last_modified) << "\n  " << repo.dir << "\n";
    for (const auto& rev : repo.revisions) {
      std::string refs;
      for (const auto& r : rev.refs) refs += (refs.empty() ? "" : ", ") + r;
      std::cout << "  " << rev.commit << "  " << std::setw(8) << hub::format_size(rev.size) << "  "
                << std::setw(3) << rev.files.size() << " files  " << (refs.empty() ? "(no ref)" : refs) << "\n";
    }
  }
  std::cout << "\n" << report.repos.size() << " repo(s), " << hub::format_size(report.size) << " in total\n";
  for (const auto& path : report.incomplete) std::cout << "partial download: " << path << "\n";
  for (const auto& warning : report.warnings) std::cout << "warning: " << warning << "\n";
}

int run_cache(const std::vector<std::string>& args) {
  ArgParser p("tensorzoo cache",
              "Inspect or prune the HuggingFace cache (shared with Python's huggingface_hub).\n"
              "  tensorzoo cache list                      repos, sizes, revisions and their refs\n"
              "  tensorzoo cache remove org/name           the model, all revisions\n"
              "  tensorzoo cache remove org/name@REV       one revision (commit hash or ref) and the\n"
              "                                            blobs no other revision uses");
  p.option("cache-dir", "DIR", "the cache folder (default: HF_HUB_CACHE, HF_HOME/hub or ~/.cache/huggingface/hub)");
  p.flag("dry-run", "remove: print what would be deleted, delete nothing");
  p.positional("ACTION", "list | remove org/name[@revision]", 1);
  if (!p.parse(args)) return p.exit_code();
  const std::vector<std::string>& pos = p.positionals();
  const std::string cache_dir = p.get("cache-dir").empty() ? hub::read_hub_environment().cache_dir : p.get("cache-dir");
  if (pos[0] == "list" && pos.size() == 1) {
    print_report(hub::scan_cache(cache_dir));
    return 0;
  }
  if (pos[0] == "remove" && pos.size() == 2) {
    const hub::RemovalPlan plan = hub::plan_removal(hub::scan_cache(cache_dir), pos[1]);
    const bool dry = p.get_flag("dry-run");
    std::cout << (dry ? "would remove " : "removing ") << plan.description << ", freeing "
              << hub::format_size(plan.freed) << ":\n";
    for (const auto& path : plan.paths) std::cout << "  " << path << "\n";
    if (!dry) hub::execute_removal(plan);
    return 0;
  }
  std::cerr << "error: expected 'list' or 'remove org/name[@revision]'\n\n" << p.help();
  return 2;
}

Command reg{"cache", "list or remove models in the HuggingFace cache (like huggingface-cli scan-cache)", run_cache};

}  // namespace
}  // namespace tz::cli
