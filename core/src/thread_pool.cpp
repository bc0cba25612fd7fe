// lumen::ThreadPool (see thread_pool.hpp): a mutex-guarded FIFO of jobs and N workers.
//
// Example: lumen::ThreadPool pool(2); auto f = pool.submit([] { return 42; }); f.get() == 42
#include "lumen/thread_pool.hpp"

#include <algorithm>

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

} // namespace lumen
