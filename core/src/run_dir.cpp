#include "lumen/engine/run_dir.hpp"

#include "lumen/atomic_file.hpp"
#include "lumen/error.hpp"

#include <cctype>
#include <chrono>
#include <ctime>
#include <random>
#include <unistd.h>

namespace lumen::engine {

namespace {
std::string make_run_id(const std::string& pipeline_name) {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(rd() & 0xffffu));
  std::string name;
  for (char c : pipeline_name) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return std::string(stamp) + "-" + (name.empty() ? "run" : name) + "-" + suffix;
}

void make_dir(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  if (ec) throw Error("cannot create directory " + p.string() + ": " + ec.message());
}
} // namespace

std::size_t remove_temp_files(const std::filesystem::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return 0;
  const std::string suffix = kTempSuffix;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::error_code rm;
      if (std::filesystem::remove(it->path(), rm)) ++n;
    }
  }
  return n;
}

RunDir RunDir::open(const std::optional<std::filesystem::path>& explicit_dir, const std::string& pipeline_name) {
  RunDir r;
  if (explicit_dir) {
    r.root = *explicit_dir;
    std::error_code ec;
    r.reused = std::filesystem::exists(r.root / "config.yaml", ec);
    r.run_id = r.reused ? std::filesystem::absolute(r.root).filename().string() : make_run_id(pipeline_name);
    if (r.run_id.empty()) r.run_id = make_run_id(pipeline_name);
  } else {
    r.run_id = make_run_id(pipeline_name);
    r.root = std::filesystem::path("runs") / r.run_id;
  }
  r.outputs = r.root / "outputs";
  r.artifacts = r.root / "artifacts";
  r.logs = r.root / "logs";
  for (const auto& d : {r.root, r.outputs, r.artifacts, r.logs}) make_dir(d);
  remove_temp_files(r.root);
  return r;
}

} // namespace lumen::engine
