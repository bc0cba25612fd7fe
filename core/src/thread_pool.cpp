// lumen::ThreadPool (see thread_pool.hpp): a mutex-guarded FIFO of jobs and N workers.
//
// Example: lumen::ThreadPool pool(2); auto f = pool.submit([] { return 42; }); f.get() == 42
#include "lumen/thread_pool.hpp"

#include <algorithm>
#include <exception>
#include <vector>

namespace lumen {

ThreadPool::ThreadPool(int threads) {
  const int n = std::max(1, threads);
  workers_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  workers_.clear(); // joins, after the workers have emptied the queue
}

void ThreadPool::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void ThreadPool::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      if (jobs_.empty()) return; // stopping, and nothing left to do
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job(); // a packaged_task: exceptions land in its future
  }
}

void parallel_ranges(ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                     std::int64_t min_part) {
  if (n <= 0) return;
  const std::int64_t workers = pool ? pool->size() + 1 : 1;
  const std::int64_t parts = std::clamp<std::int64_t>(n / std::max<std::int64_t>(1, min_part), 1, workers);
  if (parts == 1) {
    fn(0, n);
    return;
  }
  // The jobs capture `fn` by reference: every future is waited for below, also after an
  // exception, so nothing outlives this call.
  std::vector<std::future<void>> pending;
  pending.reserve(static_cast<std::size_t>(parts - 1));
  const auto begin_of = [&](std::int64_t k) { return n * k / parts; };
  for (std::int64_t k = 1; k < parts; ++k) {
    const std::int64_t a = begin_of(k), b = begin_of(k + 1);
    pending.push_back(pool->submit([&fn, a, b] { fn(a, b); }));
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

} // namespace lumen
