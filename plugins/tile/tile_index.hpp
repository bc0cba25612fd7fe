// The tile metadata index and the run summary: the plain functions behind `tile.write`.
//
// tile_record() turns a tile item (meta from tile.grid, tile.label / a facility stage, tile.split,
// calib.electrons) into one record of tiles_metadata.jsonl, with the fields of
// schemas/tiles_metadata.schema.json ("$defs/record"). TileSummary accumulates what the summary
// needs while tiles stream past, keeping only small per-key counters (per domain x data_type x
// split, per pair_id, per scene_id), never the records. Pair ids are kept as 128-bit hashes
// (XXH3_128bits, 24 bytes a pair instead of the string): their names are recovered for the listed
// misses only, by name_pair() over the pair ids written (tile.write reads them back from
// tiles_metadata.jsonl). Two different pair ids share a hash with probability about n^2 / 2^129
// (1e-21 for a billion pair ids), which is ignored. to_json() gives
// artifacts/tiles_summary.json (schemas/tiles_summary.schema.json) and text() the table printed at
// the end of a run.
//
// Example pipeline, through the stage that wraps this:
//   - id: write
//     use: tile.write
//     with: {compression: 1, filter: none}
#pragma once

#include "lumen/item.hpp"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>

namespace lumen::tile {

/// A 128-bit hash (XXH3_128bits) of a tile id or pair id: what tile.write keeps per tile instead
/// of the string.
struct IdHash {
  std::uint64_t low = 0, high = 0;
  bool operator==(const IdHash&) const = default;
};
[[nodiscard]] IdHash hash_id(std::string_view id) noexcept;
struct IdHashHasher {
  std::size_t operator()(const IdHash& h) const noexcept { return static_cast<std::size_t>(h.low); }
};

/// "2026-11-22T09:50:00.123Z": the current UTC time with milliseconds.
[[nodiscard]] std::string utc_timestamp();

/// One record of the metadata index (see schemas/tiles_metadata.schema.json). `png_path` is
/// relative to the output root.
[[nodiscard]] nlohmann::ordered_json tile_record(const Item& tile, const std::string& tile_id,
                                                 const std::string& png_path, const std::string& run_id,
                                                 const std::string& timestamp);

/// At most this many pair ids are listed per kind of pairing miss (the counts are always complete).
inline constexpr std::size_t kMaxListedMisses = 1000;

class TileSummary {
public:
  /// Counts one written tile. Only a hash of `pair_id` is kept: see name_pair().
  void add(const std::string& domain, const std::string& data_type, const std::string& split,
           const std::string& scene_id, const std::string& pair_id, const std::string& split_policy);

  [[nodiscard]] std::uint64_t tiles() const noexcept { return tiles_; }
  /// Pair ids with clean tiles but no noisy tile, and the reverse.
  [[nodiscard]] std::uint64_t clean_without_noisy() const;
  [[nodiscard]] std::uint64_t noisy_without_clean() const;
  /// Called with the pair id of every tile counted (in any order, repeats allowed) once all are
  /// added: remembers the names of the pairing misses, the kMaxListedMisses smallest of each
  /// kind, for to_json(). Without it the lists of missing ids are empty (the counts are complete).
  void name_pair(const std::string& pair_id);
  /// Scenes whose tiles landed in more than one split.
  [[nodiscard]] std::vector<std::string> leaked_scenes() const;
  /// The split_policy values of the tiles seen.
  [[nodiscard]] const std::set<std::string>& policies() const noexcept { return policies_; }

  /// The summary document (schemas/tiles_summary.schema.json).
  [[nodiscard]] nlohmann::ordered_json to_json(const std::string& run_id, const std::string& created) const;
  /// Human-readable table: counts, pairing check, leak check.
  [[nodiscard]] std::string text() const;

  /// Counts per (domain, data_type, split), as [{"domain", "data_type", "split", "tiles"}, ...].
  [[nodiscard]] nlohmann::ordered_json counts_json() const;

private:
  struct Pair {
    std::uint32_t clean = 0, noisy = 0;
  };
  struct Scene {
    std::string domain;
    unsigned splits = 0; // bit per split name, see split_bit
  };
  std::uint64_t tiles_ = 0;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> counts_;
  std::unordered_map<IdHash, Pair, IdHashHasher> pairs_;
  std::set<std::string> clean_only_names_, noisy_only_names_; // at most kMaxListedMisses each
  std::map<std::string, Scene> scenes_;
  std::set<std::string> policies_;
};

} // namespace lumen::tile
