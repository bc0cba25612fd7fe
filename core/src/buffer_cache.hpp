// Recycling of large array buffers.
//
// Streaming pipelines allocate and free buffers of the same few sizes over and over (one block
// of frames per item, per stage). Fresh memory costs a page fault and a kernel page clear per
// page on first touch, which for a 100 MB block takes longer than the pixel work of a simple
// stage (measured: 380 ms to transform a fresh 100 MB block, 48 ms a recycled one). The cache
// keeps freed buffers of at least kMinBytes, up to kCapacity bytes in all, and hands them out
// again for requests of the same size class (the buffer is at most 25 % larger than asked).
// Thread-safe. Memory stays bounded: the cache adds at most kCapacity to the peak.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>

namespace lumen::detail {

class BufferCache {
public:
  static constexpr std::size_t kMinBytes = std::size_t{4} << 20;   // 4 MiB
  static constexpr std::size_t kCapacity = std::size_t{256} << 20; // 256 MiB

  /// The process-wide cache (never destroyed: arrays may outlive static destruction).
  static BufferCache& instance();

  /// A cached buffer for `bytes`, with its real size in `capacity`; nullptr when none fits.
  [[nodiscard]] std::byte* take(std::size_t bytes, std::size_t& capacity);
  /// Keeps `data` (of `capacity` bytes) for reuse; false when it is not cached (the caller frees it).
  [[nodiscard]] bool give(std::byte* data, std::size_t capacity);

private:
  struct Entry {
    std::byte* data;
    std::size_t capacity;
  };
  std::mutex mutex_;
  std::deque<Entry> entries_; // oldest first
  std::size_t cached_ = 0;
};

/// 64-byte aligned allocation and release, the cache's backing store.
[[nodiscard]] std::byte* allocate_aligned(std::size_t bytes);
void free_aligned(std::byte* data) noexcept;

} // namespace lumen::detail
