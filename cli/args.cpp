// ArgParser; see args.h.
#include "cli/args.h"

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/error.h"

namespace tz::cli {

ArgParser::ArgParser(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {
  flag("help", "show this help and exit");
}

ArgParser& ArgParser::option(const std::string& name, const std::string& metavar,
                             const std::string& help, const std::string& default_value,
                             bool required) {
  if (!opts_.count(name)) order_.push_back(name);
  opts_[name] = Opt{metavar, help, default_value, false, required, false};
  return *this;
}

ArgParser& ArgParser::multi_option(const std::string& name, const std::string& metavar,
                                   const std::string& help) {
  if (!opts_.count(name)) order_.push_back(name);
  opts_[name] = Opt{metavar, help, "", false, false, true};
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  if (!opts_.count(name)) order_.push_back(name);
  opts_[name] = Opt{"", help, "", true, false, false};
  return *this;
}

ArgParser& ArgParser::positional(const std::string& name, const std::string& help, size_t min_count) {
  has_positional_ = true;
  positional_name_ = name;
  positional_help_ = help;
  positional_min_ = min_count;
  return *this;
}

std::string ArgParser::help() const {
  std::ostringstream os;
  os << "usage: " << program_ << " [options]";
  if (has_positional_) os << " " << positional_name_ << "...";
  os << "\n\n" << description_ << "\n\noptions:\n";
  for (const auto& name : order_) {
    const Opt& o = opts_.at(name);
    std::string left = "  --" + name + (o.is_flag ? "" : " " + o.metavar);
    os << left << std::string(left.size() < 30 ? 30 - left.size() : 2, ' ') << o.help;
    if (o.required) os << " (required)";
    else if (!o.is_flag && !o.default_value.empty()) os << " (default: " << o.default_value << ")";
    if (o.multi) os << " (repeatable)";
    os << "\n";
  }
  if (has_positional_) os << "  " << positional_name_ << std::string(28 - std::min<size_t>(26, positional_name_.size()), ' ') << positional_help_ << "\n";
  return os.str();
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  auto fail = [&](const std::string& msg) {
    std::cerr << "error: " << msg << "\n(run '" << program_ << " --help' for the options)\n";
    exit_code_ = 2;
    return false;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      auto it = opts_.find(name);
      if (it == opts_.end()) return fail("unknown option --" + name);
      if (it->second.is_flag) {
        if (inline_value) return fail("option --" + name + " takes no value");
        values_[name] = {"1"};
        if (name == "help") {
          std::cout << help();
          exit_code_ = 0;
          return false;
        }
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= args.size()) return fail("option --" + name + " expects a value (" + it->second.metavar + ")");
        value = args[++i];
      }
      if (it->second.multi)
        values_[name].push_back(value);
      else
        values_[name] = {value};
    } else {
      if (!has_positional_) return fail("unexpected argument '" + a + "'");
      positionals_.push_back(a);
    }
  }
  for (const auto& [name, o] : opts_)
    if (o.required && !values_.count(name)) return fail("option --" + name + " is required");
  if (positionals_.size() < positional_min_)
    return fail("expected at least " + std::to_string(positional_min_) + " " + positional_name_ + " argument(s)");
  return true;
}

std::string ArgParser::get(const std::string& name) const {
  auto v = values_.find(name);
  if (v != values_.end() && !v->second.empty()) return v->second.back();
  auto o = opts_.find(name);
  TZ_CHECK(o != opts_.end(), "cli: option --", name, " was never declared");
  return o->second.default_value;
}

bool ArgParser::has(const std::string& name) const {
  if (values_.count(name)) return true;
  auto o = opts_.find(name);
  return o != opts_.end() && !o->second.default_value.empty();
}

bool ArgParser::get_flag(const std::string& name) const { return values_.count(name) > 0; }

long long ArgParser::get_int(const std::string& name) const {
  std::string s = get(name);
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  TZ_CHECK(!s.empty() && end && *end == '\0', "option --", name, " expects an integer, got '", s, "'");
  return v;
}

double ArgParser::get_double(const std::string& name) const {
  std::string s = get(name);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  TZ_CHECK(!s.empty() && end && *end == '\0', "option --", name, " expects a number, got '", s, "'");
  return v;
}

std::vector<std::string> ArgParser::get_all(const std::string& name) const {
  auto v = values_.find(name);
  return v == values_.end() ? std::vector<std::string>{} : v->second;
}

}  // namespace tz::cli
