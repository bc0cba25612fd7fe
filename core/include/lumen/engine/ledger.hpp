// The ledger of completed work: one JSON line per (work unit, leaf stage) that finished,
// keyed by a hash of the unit's input identity and the resolved parameters of every stage
// on the path from its source to that leaf. Re-runs skip what the ledger holds and redo
// only what changed.
#pragma once

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace lumen::engine {

/// 128-bit xxHash of `text`, as 32 hex digits.
[[nodiscard]] std::string stable_hash(std::string_view text);

class Ledger {
public:
  explicit Ledger(const std::filesystem::path& file); // reads existing entries, then appends
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  ~Ledger();

  [[nodiscard]] bool contains(const std::string& key) const;
  void record(const std::string& key, std::string_view unit_id, std::string_view leaf_stage);
  [[nodiscard]] std::size_t size() const;

private:
  mutable std::mutex mutex_;
  std::unordered_set<std::string> keys_;
  std::FILE* file_ = nullptr;
};

} // namespace lumen::engine
