#include "lumen/byte_source.hpp"

#include "lumen/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lumen {

FileSource::FileSource(const std::filesystem::path& path) : name_(path.string()) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(name_ + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  const bool stat_failed = ::fstat(fd_, &st) != 0;
  if (stat_failed || !S_ISREG(st.st_mode)) {
    const int err = stat_failed ? errno : 0;
    ::close(fd_);
    fd_ = -1;
    throw InputError(name_ + ": not a regular file" + (err ? std::string(": ") + std::strerror(err) : ""));
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
}

FileSource::~FileSource() {
  if (fd_ >= 0) ::close(fd_);
}

void FileSource::read(std::uint64_t offset, void* dst, std::size_t n) const {
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw InputError(name_ + ": read error at byte " + std::to_string(offset) + ": " + std::strerror(errno));
    if (got == 0)
      throw InputError(name_ + ": the file ends at byte " + std::to_string(offset) +
                       " (it shrank while being read, or is truncated)");
    out += got;
    n -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

void MemorySource::read(std::uint64_t offset, void* dst, std::size_t n) const {
  if (offset > bytes_.size() || n > bytes_.size() - offset)
    throw InputError(name_ + ": needs bytes " + std::to_string(offset) + " to " + std::to_string(offset + n) +
                     " but has only " + std::to_string(bytes_.size()));
  if (n) std::memcpy(dst, bytes_.data() + offset, n);
}

} // namespace lumen
