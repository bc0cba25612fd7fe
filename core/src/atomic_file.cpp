#include "lumen/atomic_file.hpp"

#include "lumen/error.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace lumen {

namespace {
std::string errno_text() {
  return std::strerror(errno);
}

std::filesystem::path temp_name_for(const std::filesystem::path& target) {
  static std::atomic<unsigned long> counter{0}; // process-wide uniqueness for concurrent writers
  // Built with append(): GCC 12 reports a false -Wrestrict for `"." + std::string` at -O2.
  std::string name(1, '.');
  name.append(target.filename().string()).append(1, '.').append(std::to_string(::getpid()));
  name.append(1, '-').append(std::to_string(counter.fetch_add(1))).append(kTempSuffix);
  return target.parent_path() / name;
}
} // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  std::error_code ec;
  if (!target_.parent_path().empty()) std::filesystem::create_directories(target_.parent_path(), ec);
  if (ec) throw Error("cannot create directory " + target_.parent_path().string() + ": " + ec.message());
  temp_ = temp_name_for(target_);
  file_ = std::fopen(temp_.c_str(), "wb");
  if (!file_) throw Error("cannot create " + temp_.string() + ": " + errno_text());
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::write(const void* data, std::size_t n) {
  if (!file_) throw Error("AtomicFile::write after the stream was closed: " + target_.string());
  if (n && std::fwrite(data, 1, n, file_) != n)
    throw Error("write failed for " + target_.string() + ": " + errno_text());
}

void AtomicFile::release_stream() {
  if (file_ && std::fclose(file_) != 0) {
    file_ = nullptr;
    throw Error("closing " + temp_.string() + " failed: " + errno_text());
  }
  file_ = nullptr;
}

std::uintmax_t AtomicFile::commit() {
  if (committed_) throw Error("AtomicFile::commit called twice for " + target_.string());
  if (file_) {
    if (std::fflush(file_) != 0) throw Error("flushing " + target_.string() + " failed: " + errno_text());
    release_stream();
  }
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw Error("cannot rename " + temp_.string() + " to " + target_.string() + ": " + ec.message());
  committed_ = true;
  const auto size = std::filesystem::file_size(target_, ec);
  return ec ? 0 : size;
}

std::uintmax_t write_file_atomic(const std::filesystem::path& target, const std::string& content) {
  AtomicFile f(target);
  f.write(content.data(), content.size());
  return f.commit();
}

} // namespace lumen
