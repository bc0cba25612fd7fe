#include "lumen_test_files.hpp"

#include "lumen/error.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace fs = std::filesystem;

namespace lumen::test {

TempDir::TempDir(std::string_view tag) {
  static std::atomic<int> counter{0};
  path_ = fs::temp_directory_path() / ("lumen-test-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter.fetch_add(1)));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<unsigned char> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& file, const std::vector<unsigned char>& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

bool same_pixels(const Array& a, const Array& b) {
  if (a.dtype() != b.dtype() || !(a.shape() == b.shape())) return false;
  const Array ca = a.contiguous_copy(), cb = b.contiguous_copy();
  return std::memcmp(ca.raw(), cb.raw(), ca.nbytes()) == 0;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const lumen::InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

fs::path shared_data_dir() {
  if (const char* env = std::getenv("LUMEN_SHARED_DATA"); env != nullptr && *env != '\0') return env;
  const fs::path beside = fs::path(LUMEN_SOURCE_DIR).parent_path() / "shared" / "data";
  std::error_code ec;
  return fs::is_directory(beside, ec) ? beside : fs::path{};
}

std::optional<fs::path> shared_file(std::string_view relative) {
  const fs::path root = shared_data_dir();
  if (root.empty()) return std::nullopt;
  const fs::path file = root / relative;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  return file;
}

std::vector<Variant> corrupt_variants(const fs::path& source, const fs::path& dir, std::uintmax_t header_bytes,
                                      int flips) {
  const auto bytes = read_bytes(source);
  const std::uintmax_t size = bytes.size();
  std::vector<Variant> out;
  const auto stem = source.stem().string(), ext = source.extension().string();

  for (const std::uintmax_t keep : {std::uintmax_t{0}, std::uintmax_t{1}, header_bytes - 1, size / 2, size - 1}) {
    if (keep >= size) continue;
    Variant v;
    v.path = dir / (stem + "_trunc" + std::to_string(keep) + ext);
    v.what = "truncated to " + std::to_string(keep) + " of " + std::to_string(size) + " bytes";
    v.truncated = true;
    write_bytes(v.path, {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)});
    out.push_back(std::move(v));
  }

  std::mt19937 rng(12345);
  const std::uintmax_t span = std::min(header_bytes, size);
  for (int i = 0; i < flips && span > 0; ++i) {
    auto damaged = bytes;
    const auto at = static_cast<std::size_t>(rng() % span);
    const auto mask = static_cast<unsigned char>(1U + rng() % 255U);
    damaged[at] ^= mask;
    Variant v;
    v.path = dir / (stem + "_flip" + std::to_string(i) + ext);
    v.what = "byte " + std::to_string(at) + " xor " + std::to_string(mask);
    write_bytes(v.path, damaged);
    out.push_back(std::move(v));
  }
  return out;
}

} // namespace lumen::test
