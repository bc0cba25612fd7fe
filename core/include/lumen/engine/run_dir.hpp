// Run directories: runs/<run_id>/ with config.yaml, logs/run_events.jsonl, outputs/,
// artifacts/ and the ledger of completed work units.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace lumen::engine {

struct RunDir {
  std::string run_id;
  std::filesystem::path root, outputs, artifacts, logs;
  bool reused = false; // the directory existed before (a re-run or resume)

  /// Opens `explicit_dir` (created when missing) or creates `runs/<run_id>` under the
  /// current directory. Removes temporary files left by a killed run.
  static RunDir open(const std::optional<std::filesystem::path>& explicit_dir, const std::string& pipeline_name);

  [[nodiscard]] std::filesystem::path config_file() const { return root / "config.yaml"; }
  [[nodiscard]] std::filesystem::path events_file() const { return logs / "run_events.jsonl"; }
  [[nodiscard]] std::filesystem::path ledger_file() const { return root / "ledger.jsonl"; }
};

/// Removes `*.lumen-tmp` files below `dir`; returns how many.
std::size_t remove_temp_files(const std::filesystem::path& dir);

} // namespace lumen::engine
