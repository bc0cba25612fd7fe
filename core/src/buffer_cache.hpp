// Recycling of large array buffers.
//
// Streaming pipelines allocate and free buffers of the same few sizes over and over (one block
// of frames per item, per stage). Fresh memory costs a page fault and a kernel page clear per
// page on first touch, which for a 100 MB block takes longer than the pixel work of a simple
// stage (measured: 380 ms to transform a fresh 100 MB block, 48 ms a recycled one; astro-bench,
// 512 x 512 f32 files: ~320 faults per file for its 1 MiB and 256 KiB buffers). The cache
// keeps freed buffers of at least kMinBytes (those allocate_aligned maps), up to kCapacity bytes
// in all, and hands them out again for requests of the same size class (the buffer is at most
// 25 % larger than asked). A buffer not taken again within kMaxAge later releases is unmapped:
// buffers of a size the run no longer asks for (input files of varying sizes) do not pile up.
// Thread-safe. Memory stays bounded: the cache adds at most kCapacity to the peak.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>

namespace lumen::detail {

/// Buffers of this size and more get their own memory mapping (see allocate_aligned).
inline constexpr std::size_t kMapBytes = std::size_t{256} << 10; // 256 KiB

class BufferCache {
public:
  static constexpr std::size_t kMinBytes = kMapBytes;              // every mapped buffer
  static constexpr std::size_t kCapacity = std::size_t{256} << 20; // 256 MiB
  static constexpr std::uint64_t kMaxAge = 256;                    // releases (give calls)

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
    std::uint64_t given; // value of gives_ when it was given
  };
  std::mutex mutex_;
  std::deque<Entry> entries_; // oldest first
  std::size_t cached_ = 0;
  std::uint64_t gives_ = 0;
};

/// 64-byte aligned allocation and release, the cache's backing store. Buffers of kMapBytes and
/// more are mapped and unmapped directly, never taken from malloc's heaps: a freed image buffer
/// (one the cache does not keep) goes back to the system at once, whatever the allocator's
/// padding and trimming policy, and leaves no free space in a heap for small objects to split.
/// Measured (astro-bench, --queue-capacity 2, 4 MiB heap pad): from malloc, 65 MB peak for 200
/// files and 68 MB for 1000; mapped, 53 and 54 MB. `bytes` must be the size given to
/// allocate_aligned.
[[nodiscard]] std::byte* allocate_aligned(std::size_t bytes);
void free_aligned(std::byte* data, std::size_t bytes) noexcept;

} // namespace lumen::detail
