#include "lumen/engine/ledger.hpp"

#include "lumen/error.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <xxhash.h>

namespace lumen::engine {

std::string stable_hash(std::string_view text) {
  const XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return buf;
}

Ledger::Ledger(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    // A run killed mid-write can leave a partial last line: it is ignored, so that unit is redone.
    try {
      const auto j = nlohmann::json::parse(line);
      keys_.insert(j.at("key").get<std::string>());
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
  std::lock_guard lock(mutex_);
  return keys_.count(key) != 0;
}

void Ledger::record(const std::string& key, std::string_view unit_id, std::string_view leaf_stage) {
  nlohmann::json j{{"key", key}, {"unit", unit_id}, {"leaf", leaf_stage}};
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  if (!keys_.insert(key).second) return;
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

std::size_t Ledger::size() const {
  std::lock_guard lock(mutex_);
  return keys_.size();
}

} // namespace lumen::engine
