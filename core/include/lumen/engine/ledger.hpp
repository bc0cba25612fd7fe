// The ledger of completed work: one JSON line per (work unit, leaf stage) that finished,
// keyed by a hash of the unit's input identity and the resolved parameters of every stage
// on the path from its source to that leaf. Re-runs skip what the ledger holds and redo
// only what changed.
#pragma once

#include <cstdint>
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

  /// `key` is a stable_hash() value (32 hex digits).
  [[nodiscard]] bool contains(const std::string& key) const;
  void record(const std::string& key, std::string_view unit_id, std::string_view leaf_stage);
  [[nodiscard]] std::size_t size() const;

private:
  struct Key {
    std::uint64_t hi = 0, lo = 0;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept { return static_cast<std::size_t>(k.lo ^ (k.hi * 31)); }
  };
  /// Keys are 32 hex digits; stored as 128 bits (a third of the memory of the text).
  static bool parse_key(std::string_view text, Key& out) noexcept;

  mutable std::mutex mutex_;
  std::unordered_set<Key, KeyHash> keys_;
  std::FILE* file_ = nullptr;
};

} // namespace lumen::engine
