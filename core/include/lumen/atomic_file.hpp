// Atomic output files: write to a temporary name beside the target, then rename.
//
// A run killed at any instant leaves either the complete previous file, the complete new
// file, or nothing, never a truncated one. Temporary names end in `.lumen-tmp`; the host
// removes leftovers from killed runs when a run directory is reused. The guarantee is
// against the process dying; files are not fsynced (a power cut may lose recent files).
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>

namespace lumen {

inline constexpr const char* kTempSuffix = ".lumen-tmp";

class AtomicFile {
public:
  /// Creates parent directories and opens `<dir>/.<name>.<unique>.lumen-tmp` for writing.
  explicit AtomicFile(std::filesystem::path target);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  /// The open stream (binary). Valid until commit().
  [[nodiscard]] std::FILE* stream() const noexcept { return file_; }
  /// The temporary path, for libraries that want a file name instead of a stream
  /// (close the stream with release_stream() first).
  [[nodiscard]] const std::filesystem::path& temp_path() const noexcept { return temp_; }
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }
  void write(const void* data, std::size_t n);
  /// Closes the stream without committing (for writers that reopen temp_path() by name).
  void release_stream();
  /// Flushes, closes and renames onto the target. Returns the file size.
  std::uintmax_t commit();

private:
  std::filesystem::path target_, temp_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

/// Writes a whole file atomically.
std::uintmax_t write_file_atomic(const std::filesystem::path& target, const std::string& content);

} // namespace lumen
