// Shared helpers for the model reference tests (every family of the zoo): discover the case
// folders under reference/<model_type>, count the cases a folder's README lists, read a case's
// manifest and expected tensors, build Inputs, and compare tensors with a manifest tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "models/registry.h"
#include "tensor/io/checkpoint.h"
#include "tensor/ops.h"
#include "tests/test_util.h"

namespace tz::test {

struct Tolerance {
  double atol = 0, rtol = 0;
};

inline Tolerance tolerance_of(const nlohmann::json& j) { return {j.at("atol").get<double>(), j.at("rtol").get<double>()}; }

struct CaseData {
  std::string name;
  std::filesystem::path dir;
  nlohmann::json manifest;
  io::Checkpoint expected;
  const Tensor& get(const std::string& key) const {
    auto it = expected.tensors.find(key);
    if (it == expected.tensors.end()) FAIL("expected.safetensors of " << name << " has no tensor '" << key << "'");
    return it->second;
  }
  bool has(const std::string& key) const { return expected.tensors.count(key) > 0; }
};

/// The model_type of every family in the registry: each has its reference folder of that name.
inline std::vector<std::string> reference_families() {
  std::vector<std::string> names;
  for (const auto& f : models::families()) names.push_back(f.model_type);
  return names;
}

/// Every folder under reference/<family> that has a manifest.json, sorted by name.
inline std::vector<std::filesystem::path> case_dirs(const std::string& family) {
  std::vector<std::filesystem::path> dirs;
  auto root = reference_dir() / family;
  if (!std::filesystem::exists(root)) return dirs;
  for (auto& e : std::filesystem::directory_iterator(root))
    if (e.is_directory() && std::filesystem::exists(e.path() / "manifest.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

/// The cases of every registered family, family by family.
inline std::vector<std::filesystem::path> all_case_dirs() {
  std::vector<std::filesystem::path> dirs;
  for (const auto& family : reference_families())
    for (auto& d : case_dirs(family)) dirs.push_back(d);
  return dirs;
}

/// How many cases the README of a family folder lists: the names in the first column of its
/// "| case | ..." table (a cell may name several, comma-separated). 0 without README or table.
inline int64_t readme_case_count(const std::filesystem::path& family_dir) {
  std::ifstream f(family_dir / "README.md");
  std::string line;
  bool in_table = false;
  int64_t count = 0;
  while (std::getline(f, line)) {
    if (line.rfind("| case |", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty() || line[0] != '|') {
      in_table = false;
      continue;
    }
    if (line.rfind("|---", 0) == 0) continue;
    std::stringstream cell(line.substr(1, line.find('|', 1) - 1));
    std::string name;
    while (std::getline(cell, name, ','))
      if (name.find_first_not_of(" `") != std::string::npos) ++count;
  }
  return count;
}

/// "<family>/<case>" for messages and section names.
inline std::string case_label(const std::filesystem::path& dir) {
  return dir.parent_path().filename().string() + "/" + dir.filename().string();
}

inline CaseData load_case(const std::filesystem::path& dir) {
  CaseData c;
  c.name = case_label(dir);
  c.dir = dir;
  std::ifstream f(dir / "manifest.json");
  c.manifest = nlohmann::json::parse(f);
  c.expected = io::load_safetensors((dir / "expected.safetensors").string());
  return c;
}

/// Every forward input a case may record (Inputs' fields, by HF's argument names).
inline const std::vector<std::string>& input_names() {
  static const std::vector<std::string> names{"input_ids",   "attention_mask", "token_type_ids", "position_ids",
                                              "inputs_embeds", "head_mask",    "labels",         "next_sentence_label",
                                              "start_positions", "end_positions"};
  return names;
}

/// Inputs from tensors named <prefix>input_ids, attention_mask, ... (those present).
inline models::Inputs inputs_from(const CaseData& c, const std::string& prefix = "") {
  models::Inputs in;
  auto pick = [&](const std::string& k) { return c.has(prefix + k) ? c.get(prefix + k) : Tensor(); };
  in.input_ids = pick("input_ids");
  in.attention_mask = pick("attention_mask");
  in.token_type_ids = pick("token_type_ids");
  in.position_ids = pick("position_ids");
  in.inputs_embeds = pick("inputs_embeds");
  in.head_mask = pick("head_mask");
  in.labels = pick("labels");
  in.next_sentence_label = pick("next_sentence_label");
  in.start_positions = pick("start_positions");
  in.end_positions = pick("end_positions");
  return in;
}

struct Diff {
  double max_abs = 0, max_rel = 0;
  int64_t bad = 0;
  std::string first_bad;
};

/// |ours - expected| <= atol + rtol * |expected| elementwise; NaN never matches.
inline Diff compare(const Tensor& ours, const Tensor& expected, Tolerance tol) {
  Diff d;
  if (ours.shape() != expected.shape()) {
    d.bad = 1;
    d.first_bad = "shape " + shape_str(ours.shape()) + " vs expected " + shape_str(expected.shape());
    return d;
  }
  auto a = raw::contiguous(ours).to_vector<float>();
  auto b = raw::contiguous(expected).to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) {
    double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    double rel = diff / std::max(1e-30, std::fabs(static_cast<double>(b[i])));
    if (!std::isnan(diff)) {
      d.max_abs = std::max(d.max_abs, diff);
      if (std::fabs(b[i]) > 1e-3) d.max_rel = std::max(d.max_rel, rel);
    }
    if (!(diff <= tol.atol + tol.rtol * std::fabs(static_cast<double>(b[i])))) {
      if (d.bad++ == 0)
        d.first_bad = "element " + std::to_string(i) + ": ours " + std::to_string(a[i]) + " expected " + std::to_string(b[i]);
    }
  }
  return d;
}

}  // namespace tz::test
