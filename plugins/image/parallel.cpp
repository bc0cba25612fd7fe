// Row-parallel loops (see parallel.hpp).
//
// Example: parallel_rows(pool.get(), h, [&](std::int64_t a, std::int64_t b) { rows(a, b); });
#include "parallel.hpp"

namespace lumen::image {

std::unique_ptr<ThreadPool> make_row_pool(int threads) {
  if (threads <= 1) return nullptr;
  return std::make_unique<ThreadPool>(threads - 1);
}

void parallel_rows(ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                   std::int64_t min_rows) {
  parallel_ranges(pool, n, fn, min_rows);
}

} // namespace lumen::image
