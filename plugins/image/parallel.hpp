// Row-parallel loops for a stage's own pixel work on one big image.
//
// The host runs items on its worker threads; a 16-megapixel frame is still one item, so stages
// that touch every pixel (image.downsample, image.scale, calib.electrons, calib.cosmic_rays) split
// their rows over a lumen::ThreadPool sized from ctx().threads(). The calling thread works too,
// so a pool of threads - 1 workers keeps `threads` cores busy.
//
// Example:
//   auto pool = lumen::image::make_row_pool(ctx().threads());   // null for one thread
//   lumen::image::parallel_rows(pool.get(), height, [&](std::int64_t y0, std::int64_t y1) {
//     for (std::int64_t y = y0; y < y1; ++y) filter_row(y);
//   });
#pragma once

#include "lumen/thread_pool.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>

namespace lumen::image {

/// A pool of threads - 1 workers (the caller is the last one), or null when threads <= 1.
[[nodiscard]] std::unique_ptr<ThreadPool> make_row_pool(int threads);

/// lumen::parallel_ranges over image rows, with blocks of at least `min_rows` rows.
void parallel_rows(ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                   std::int64_t min_rows = 32);

/// Calls fn(begin, end) over [0, n) in chunks of 256 elements, first prefetching the source
/// 1024 elements ahead. Streaming loops that do much work per cache line (table lookups, u8
/// packing) ran at 2-3 GB/s here without it: the hardware prefetcher of the 2-core test
/// machine does not keep up, so the loop waits for memory (measured 46 ms -> 20 ms for
/// f32 -> u8 on 16 megapixels).
template <typename T, typename F>
[[gnu::always_inline]] inline void prefetched_chunks(const T* src, std::int64_t n, F&& fn) {
  constexpr std::int64_t kChunk = 256, kAhead = 1024, kLine = 64 / static_cast<std::int64_t>(sizeof(T));
  for (std::int64_t i0 = 0; i0 < n; i0 += kChunk) {
    for (std::int64_t p = i0 + kAhead; p < std::min(n, i0 + kAhead + kChunk); p += kLine) __builtin_prefetch(src + p);
    fn(i0, std::min(n, i0 + kChunk));
  }
}

} // namespace lumen::image
