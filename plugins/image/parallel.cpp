// Row-parallel loops (see parallel.hpp).
//
// Example: parallel_rows(pool.get(), h, [&](std::int64_t a, std::int64_t b) { rows(a, b); });
#include "parallel.hpp"

#include <algorithm>
#include <exception>
#include <future>
#include <vector>

namespace lumen::image {

std::unique_ptr<ThreadPool> make_row_pool(int threads) {
  if (threads <= 1) return nullptr;
  return std::make_unique<ThreadPool>(threads - 1);
}

void parallel_rows(ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                   std::int64_t min_rows) {
  if (n <= 0) return;
  const std::int64_t workers = pool ? pool->size() + 1 : 1;
  const std::int64_t blocks = std::clamp<std::int64_t>(n / std::max<std::int64_t>(1, min_rows), 1, workers);
  if (blocks == 1) {
    fn(0, n);
    return;
  }
  // The jobs capture `fn` by reference: every future is waited for below, also after an
  // exception, so nothing outlives this call.
  std::vector<std::future<void>> pending;
  pending.reserve(static_cast<std::size_t>(blocks - 1));
  const auto begin_of = [&](std::int64_t b) { return n * b / blocks; };
  for (std::int64_t b = 1; b < blocks; ++b) {
    const std::int64_t y0 = begin_of(b), y1 = begin_of(b + 1);
    pending.push_back(pool->submit([&fn, y0, y1] { fn(y0, y1); }));
  }
  std::exception_ptr first;
  try {
    fn(0, begin_of(1));
  } catch (...) {
    first = std::current_exception();
  }
  for (auto& f : pending) {
    try {
      f.get();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

} // namespace lumen::image
