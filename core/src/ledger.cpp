#include "lumen/engine/ledger.hpp"

#include "json_line.hpp"
#include "lumen/error.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <xxhash.h>

namespace lumen::engine {

std::string stable_hash(std::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[static_cast<std::size_t>(15 - i)] = hex[(h.high64 >> (4 * i)) & 15];
    out[static_cast<std::size_t>(31 - i)] = hex[(h.low64 >> (4 * i)) & 15];
  }
  return out;
}

bool Ledger::parse_key(std::string_view text, Key& out) noexcept {
  if (text.size() != 32) return false;
  std::uint64_t parts[2] = {0, 0};
  for (std::size_t i = 0; i < 32; ++i) {
    const char c = text[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return false;
    parts[i / 16] = (parts[i / 16] << 4) | static_cast<std::uint64_t>(v);
  }
  out = Key{parts[0], parts[1]};
  return true;
}

Ledger::Ledger(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    // A run killed mid-write can leave a partial last line: it is ignored, so that unit is redone.
    try {
      const auto j = nlohmann::json::parse(line);
      Key k;
      if (parse_key(j.at("key").get<std::string>(), k)) keys_.insert(k);
    } catch (const nlohmann::json::exception&) {
    }
  }
  file_ = std::fopen(file.c_str(), "ab");
  if (!file_) throw Error("cannot open the ledger " + file.string() + " for appending");
}

Ledger::~Ledger() {
  if (file_) std::fclose(file_);
}

bool Ledger::contains(const std::string& key) const {
  Key k;
  if (!parse_key(key, k)) return false;
  std::lock_guard lock(mutex_);
  return keys_.count(k) != 0;
}

void Ledger::record(const std::string& key, std::string_view unit_id, std::string_view leaf_stage) {
  Key k;
  if (!parse_key(key, k)) throw Error("ledger: key '" + key + "' is not a 32-digit hex hash");
  const std::string line = JsonLine().str("key", key).str("unit", unit_id).str("leaf", leaf_stage).finish();
  std::lock_guard lock(mutex_);
  if (!keys_.insert(k).second) return;
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

std::size_t Ledger::size() const {
  std::lock_guard lock(mutex_);
  return keys_.size();
}

} // namespace lumen::engine
