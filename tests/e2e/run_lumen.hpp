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
/// Files under `dir` (recursively) whose extension is `ext` (".png"); 0 when `dir` is absent.
std::size_t count_files(const std::filesystem::path& dir, const std::string& ext);
/// The real sample files: $LUMEN_SHARED_DATA, else ../shared/data beside the source tree; with
/// `sub`, that folder inside it. Tests check that the file they need exists and print
/// "SKIPPED: ..." (CTest then reports them as skipped) when it does not.
std::filesystem::path shared_data(const std::string& sub = {});
/// True when /usr/bin/python3 imports every module in `modules` ("h5py, numpy").
bool have_python(const std::string& modules);

} // namespace e2e
