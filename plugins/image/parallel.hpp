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

#include <cstdint>
#include <functional>
#include <memory>

namespace lumen::image {

/// A pool of threads - 1 workers (the caller is the last one), or null when threads <= 1.
[[nodiscard]] std::unique_ptr<ThreadPool> make_row_pool(int threads);

/// Calls fn(begin, end) on contiguous blocks covering [0, n): one block per pool worker plus one
/// on the calling thread (all on the caller when `pool` is null or n < 2 * min_rows). Returns
/// when every block has finished; the first exception of any block is rethrown then.
void parallel_rows(ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                   std::int64_t min_rows = 32);

} // namespace lumen::image
