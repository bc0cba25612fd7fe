// Byte sources and sinks for hand-written file parsers: the same parsing code reads a file
// (a reader stage), a memory buffer (a libFuzzer target, tests) or writes into any sink (an
// AtomicFile, a vector). Every read names the source and the byte range when it fails, so a
// parser that checks its header against size() first never reads past the end.
//
//   lumen::FileSource src("map.mrc");                   // throws InputError when unreadable
//   const auto header = lumen::mrc::read_header(src);   // validated against src.size()
//   const auto image = lumen::mrc::read_sections(src, header, 0, header.nz);
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

namespace lumen {

/// Random-access bytes with a known size. read() throws lumen::InputError naming the source
/// when fewer than `n` bytes are available at `offset`.
class ByteSource {
public:
  virtual ~ByteSource() = default;
  [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  virtual void read(std::uint64_t offset, void* dst, std::size_t n) const = 0;
};

/// A file read with pread (safe to share between threads).
class FileSource final : public ByteSource {
public:
  explicit FileSource(const std::filesystem::path& path);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }
  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  void read(std::uint64_t offset, void* dst, std::size_t n) const override;

private:
  std::string name_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

/// Bytes in memory (not owned).
class MemorySource final : public ByteSource {
public:
  MemorySource(std::span<const std::uint8_t> bytes, std::string name) : bytes_(bytes), name_(std::move(name)) {}
  [[nodiscard]] std::uint64_t size() const noexcept override { return bytes_.size(); }
  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  void read(std::uint64_t offset, void* dst, std::size_t n) const override;

private:
  std::span<const std::uint8_t> bytes_;
  std::string name_;
};

/// Where a writer puts its bytes (an AtomicFile, a vector in tests). Throws on failure.
using ByteSink = std::function<void(const void* data, std::size_t n)>;

} // namespace lumen
