// Helpers for end-to-end tests: run the real `lumen` binary and inspect what it wrote.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace e2e {

struct Result {
  int exit_code = -1;
  std::string output; // stdout and stderr, interleaved
};

/// Runs `lumen ARGS` (arguments are shell-quoted) with the test plugin directories on the
/// plugin path and NO_COLOR set.
Result lumen(const std::vector<std::string>& args);
/// Runs a shell command.
Result shell(const std::string& command);

/// A fresh temporary directory, removed at scope exit.
class TempDir {
public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& p);
void write_text(const std::filesystem::path& p, const std::string& text);
/// Lines of logs/run_events.jsonl whose "event" equals `type`.
std::vector<std::string> events(const std::filesystem::path& run_dir, const std::string& type);
std::string quote(const std::string& s);

} // namespace e2e
