// Tile metadata records and the run summary (see tile_index.hpp).
//
// Example pipeline:
//   - id: write
//     use: tile.write
#include "tile_index.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <vector>
#include <xxhash.h>

namespace lumen::tile {

namespace {

using json = nlohmann::ordered_json;

json string_or_null(const Meta& m, std::string_view key) {
  if (!m.has(key)) return nullptr;
  try {
    if (auto s = m.get_string(key)) return *s;
  } catch (const std::exception&) {
  }
  return nullptr;
}

json number_or_null(const Meta& m, std::string_view key) {
  if (!m.has(key)) return nullptr;
  try {
    if (auto v = m.get_number(key)) return *v;
  } catch (const std::exception&) {
  }
  return nullptr;
}

json int_or_null(const Meta& m, std::string_view key) {
  if (!m.has(key)) return nullptr;
  try {
    if (auto v = m.get_int(key)) return *v;
  } catch (const std::exception&) {
  }
  return nullptr;
}

json bool_or_null(const Meta& m, std::string_view key) {
  if (!m.has(key)) return nullptr;
  try {
    if (auto v = m.get_bool(key)) return *v;
  } catch (const std::exception&) {
  }
  return nullptr;
}

constexpr const char* kSplits[] = {"train", "validation", "test"};

unsigned split_bit(const std::string& split) {
  for (unsigned i = 0; i < 3; ++i)
    if (split == kSplits[i]) return 1u << i;
  return 1u << 3; // anything else (never produced by tile.split)
}

std::vector<std::string> split_names(unsigned bits) {
  std::vector<std::string> names;
  for (unsigned i = 0; i < 3; ++i)
    if (bits & (1u << i)) names.emplace_back(kSplits[i]);
  if (bits & (1u << 3)) names.emplace_back("other");
  return names;
}

} // namespace

IdHash hash_id(std::string_view id) noexcept {
  const XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return IdHash{h.low64, h.high64};
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return text;
}

json tile_record(const Item& tile, const std::string& tile_id, const std::string& png_path, const std::string& run_id,
                 const std::string& timestamp) {
  const Meta& m = tile.meta;
  json r;
  r["tile_id"] = tile_id;
  r["item_id"] = tile.id();
  r["domain"] = string_or_null(m, "domain");
  r["scene_id"] = string_or_null(m, "scene_id");
  r["pair_id"] = string_or_null(m, "pair_id");
  r["data_type"] = string_or_null(m, "data_type");
  r["split"] = string_or_null(m, "split");
  r["split_hash"] = int_or_null(m, "split_hash");
  r["split_policy"] = string_or_null(m, "split_policy");
  r["png_path"] = png_path;
  r["tile_size"] = int_or_null(m, "tile_size");
  r["tile_height"] = int_or_null(m, "tile_height");
  r["tile_width"] = int_or_null(m, "tile_width");
  r["channels"] = int_or_null(m, "channels");
  r["grid_x"] = int_or_null(m, "grid_x");
  r["grid_y"] = int_or_null(m, "grid_y");
  r["grid_cols"] = int_or_null(m, "grid_cols");
  r["grid_rows"] = int_or_null(m, "grid_rows");
  r["image_x"] = int_or_null(m, "image_x");
  r["image_y"] = int_or_null(m, "image_y");
  r["image_width"] = int_or_null(m, "image_width");
  r["image_height"] = int_or_null(m, "image_height");
  r["tile_mode"] = string_or_null(m, "tile_mode");
  r["gain"] = number_or_null(m, "gain_e_per_adu");
  r["read_noise"] = number_or_null(m, "read_noise_e");
  r["calibration_method"] = string_or_null(m, "calibration_method");
  r["calibration_source"] = string_or_null(m, "calibration_source");
  r["facility"] = string_or_null(m, "facility");
  r["units"] = string_or_null(m, "units");
  r["quality_score"] = number_or_null(m, "quality_score");
  r["valid_ratio"] = number_or_null(m, "valid_ratio");
  r["mean_intensity"] = number_or_null(m, "mean_intensity");
  r["is_edge_tile"] = bool_or_null(m, "is_edge_tile");
  r["overlap_ratio"] = number_or_null(m, "overlap_ratio");
  r["source_file"] = tile.provenance.source_file;
  r["processing_timestamp"] = timestamp;
  r["run_id"] = run_id;
  return r;
}

void TileSummary::add(const std::string& domain, const std::string& data_type, const std::string& split,
                      const std::string& scene_id, const std::string& pair_id, const std::string& split_policy) {
  ++tiles_;
  ++counts_[{domain, data_type, split}];
  Pair& p = pairs_[hash_id(pair_id)];
  if (data_type == "clean")
    ++p.clean;
  else if (data_type == "noisy")
    ++p.noisy;
  Scene& s = scenes_[scene_id];
  if (s.domain.empty()) s.domain = domain;
  s.splits |= split_bit(split);
  if (!split_policy.empty()) policies_.insert(split_policy);
}

void TileSummary::name_pair(const std::string& pair_id) {
  const auto it = pairs_.find(hash_id(pair_id));
  if (it == pairs_.end()) return;
  const Pair& p = it->second;
  std::set<std::string>* names = p.clean && !p.noisy   ? &clean_only_names_
                                 : p.noisy && !p.clean ? &noisy_only_names_
                                                       : nullptr;
  if (!names) return;
  if (names->size() >= kMaxListedMisses && pair_id >= *names->rbegin()) return;
  names->insert(pair_id);
  if (names->size() > kMaxListedMisses) names->erase(std::prev(names->end()));
}

std::uint64_t TileSummary::clean_without_noisy() const {
  return static_cast<std::uint64_t>(
      std::count_if(pairs_.begin(), pairs_.end(), [](const auto& kv) { return kv.second.clean && !kv.second.noisy; }));
}

std::uint64_t TileSummary::noisy_without_clean() const {
  return static_cast<std::uint64_t>(
      std::count_if(pairs_.begin(), pairs_.end(), [](const auto& kv) { return kv.second.noisy && !kv.second.clean; }));
}

std::vector<std::string> TileSummary::leaked_scenes() const {
  std::vector<std::string> out;
  for (const auto& [scene, s] : scenes_)
    if (split_names(s.splits).size() > 1) out.push_back(scene);
  return out;
}

json TileSummary::counts_json() const {
  json counts = json::array();
  for (const auto& [key, n] : counts_)
    counts.push_back(
        {{"domain", std::get<0>(key)}, {"data_type", std::get<1>(key)}, {"split", std::get<2>(key)}, {"tiles", n}});
  return counts;
}

json TileSummary::to_json(const std::string& run_id, const std::string& created) const {
  json doc;
  doc["run_id"] = run_id;
  doc["created"] = created;
  doc["tiles"] = tiles_;
  doc["counts"] = counts_json();

  json by_split = json::object(), by_domain = json::object(), by_type = json::object();
  for (const char* s : kSplits) by_split[s] = 0;
  for (const auto& [key, n] : counts_) {
    const auto& [domain, type, split] = key;
    by_domain[domain] = by_domain.value(domain, std::uint64_t{0}) + n;
    by_type[type] = by_type.value(type, std::uint64_t{0}) + n;
    by_split[split] = by_split.value(split, std::uint64_t{0}) + n;
  }
  doc["totals"] = {{"by_split", by_split}, {"by_domain", by_domain}, {"by_data_type", by_type}};

  std::uint64_t complete = 0;
  for (const auto& [id, p] : pairs_)
    if (p.clean && p.noisy) ++complete;
  const std::uint64_t n_clean_only = clean_without_noisy(), n_noisy_only = noisy_without_clean();
  const std::vector<std::string> clean_only(clean_only_names_.begin(), clean_only_names_.end()),
      noisy_only(noisy_only_names_.begin(), noisy_only_names_.end());
  doc["pairing"] = {{"pair_ids", pairs_.size()},
                    {"complete_pairs", complete},
                    {"clean_without_noisy", n_clean_only},
                    {"noisy_without_clean", n_noisy_only},
                    {"every_clean_tile_has_noisy_twin", n_clean_only == 0},
                    {"clean_without_noisy_ids", clean_only},
                    {"noisy_without_clean_ids", noisy_only}};

  json scene_split = json::object();
  for (const char* s : kSplits) scene_split[s] = 0;
  json leaked = json::array();
  for (const auto& [scene, s] : scenes_) {
    const auto names = split_names(s.splits);
    for (const auto& n : names) scene_split[n] = scene_split.value(n, 0) + 1;
    if (names.size() > 1) leaked.push_back({{"scene_id", scene}, {"domain", s.domain}, {"splits", names}});
  }
  const bool by_scene_only = policies_.size() == 1 && *policies_.begin() == "by-scene";
  doc["scenes"] = {{"count", scenes_.size()},
                   {"by_split", scene_split},
                   {"split_policies", std::vector<std::string>(policies_.begin(), policies_.end())},
                   {"in_several_splits", leaked},
                   {"leak_free", leaked.empty()},
                   {"leak_expected_by_policy", !by_scene_only && !leaked.empty()}};
  return doc;
}

std::string TileSummary::text() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %-10s %-11s %10s\n", "domain", "data_type", "split", "tiles");
  out += line;
  for (const auto& [key, n] : counts_) {
    std::snprintf(line, sizeof line, "%-14s %-10s %-11s %10llu\n", std::get<0>(key).c_str(), std::get<1>(key).c_str(),
                  std::get<2>(key).c_str(), static_cast<unsigned long long>(n));
    out += line;
  }
  std::uint64_t complete = 0;
  for (const auto& kv : pairs_)
    if (kv.second.clean && kv.second.noisy) ++complete;
  std::snprintf(line, sizeof line,
                "total %llu tiles; pairing: %llu pair ids, %llu complete, %llu clean without a noisy twin, %llu noisy "
                "without a clean twin\n",
                static_cast<unsigned long long>(tiles_), static_cast<unsigned long long>(pairs_.size()),
                static_cast<unsigned long long>(complete), static_cast<unsigned long long>(clean_without_noisy()),
                static_cast<unsigned long long>(noisy_without_clean()));
  out += line;
  const auto leaked = leaked_scenes();
  std::string policies;
  for (const auto& p : policies_) policies += (policies.empty() ? "" : ", ") + p;
  if (leaked.empty()) {
    std::snprintf(line, sizeof line, "scenes: %zu, none in more than one split (policy %s)", scenes_.size(),
                  policies.empty() ? "-" : policies.c_str());
    out += line;
  } else {
    out += "scenes: " + std::to_string(scenes_.size()) + ", " + std::to_string(leaked.size()) +
           " in more than one split (policy " + policies + "):";
    for (std::size_t i = 0; i < leaked.size() && i < 20; ++i) out += " " + leaked[i];
    if (leaked.size() > 20) out += " ...";
  }
  return out;
}

} // namespace lumen::tile
