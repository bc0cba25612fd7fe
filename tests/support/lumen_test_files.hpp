// Test helpers shared by the plugin-set tests: temporary directories, file bytes, corrupted
// variants of real files, and the real sample files in ../shared/data (skipped with a message
// when absent).
//
//   LUMEN_SHARED_FILE(file, "fits/saao1m_STE3_a8280271.fits");   // returns (skips) when absent
//   lumen::test::TempDir tmp("fits");
//   for (const auto& bad : lumen::test::corrupt_variants(file, tmp.path()))
//     REQUIRE_THROWS_AS(read(bad.path), lumen::InputError);
#pragma once

#include "lumen/array.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::test {

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
class TempDir {
public:
  explicit TempDir(std::string_view tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
  std::filesystem::path path_;
};

[[nodiscard]] std::vector<unsigned char> read_bytes(const std::filesystem::path& file);
void write_bytes(const std::filesystem::path& file, const std::vector<unsigned char>& bytes);

/// Same dtype, same shape and the same bytes (views are compared by their content).
[[nodiscard]] bool same_pixels(const Array& a, const Array& b);
/// The message of the lumen::InputError that `f` throws, or "(no InputError)".
[[nodiscard]] std::string error_of(const std::function<void()>& f);

/// The directory of real sample files: $LUMEN_SHARED_DATA, else ../shared/data beside the
/// source tree. Empty when it does not exist.
[[nodiscard]] std::filesystem::path shared_data_dir();
/// `relative` inside shared_data_dir(), or nullopt when that file is absent.
[[nodiscard]] std::optional<std::filesystem::path> shared_file(std::string_view relative);

/// A damaged copy of a file, and what was done to it.
struct Variant {
  std::filesystem::path path;
  std::string what;       // "truncated to 100 of 33024 bytes", "byte 17 flipped"
  bool truncated = false; // truncations must always fail; flips may still decode
};
/// Truncations (to 0 bytes, 1 byte, `header_bytes` - 1, half, all but one byte) and
/// `flips` single-byte corruptions of the first `header_bytes` bytes (deterministic), written
/// into `dir`.
[[nodiscard]] std::vector<Variant> corrupt_variants(const std::filesystem::path& source,
                                                    const std::filesystem::path& dir,
                                                    std::uintmax_t header_bytes = 1024, int flips = 64);

} // namespace lumen::test

/// Declares `var` as the path of shared-data file `relative`; when it is absent the test case
/// prints "SKIPPED: ..." (CTest reports the test as skipped) and returns.
#define LUMEN_SHARED_FILE(var, relative)                                                                               \
  const auto var##_optional = ::lumen::test::shared_file(relative);                                                    \
  if (!var##_optional) {                                                                                               \
    WARN("SKIPPED: real sample file " << (relative) << " not found under '"                                            \
                                      << ::lumen::test::shared_data_dir().string()                                     \
                                      << "' (set LUMEN_SHARED_DATA to the shared/data folder)");                       \
    return;                                                                                                            \
  }                                                                                                                    \
  const std::filesystem::path var = *var##_optional
