// A small fixed pool of worker threads for a stage's internal parallel work (compressing the
// chunks of an HDF5 dataset or the strips of a TIFF file while the stage writes them in order).
//
// The host already runs stages on its own worker threads; a pool is for work *inside* one
// item that a stage wants to spread, e.g. a writer that compresses blocks in parallel and
// writes them serially through a library handle that is not thread-safe. Sizing: from a
// stage parameter, or ctx().threads() for "as many as the run uses".
//
// Jobs run in submission order (FIFO), each on one worker; an exception thrown by a job is
// stored in its future and rethrown by get(). A job must own (or share ownership of) the data
// it reads: a future of this pool does not block in its destructor, so a job may outlive the
// caller's scope when the caller stops waiting (e.g. after an error). The destructor finishes
// every queued job, then joins the workers.
//
// Bounding memory is the caller's part: keep at most about 2 x size() futures outstanding and
// wait for the oldest before submitting more (see plugins/hdf5 and plugins/tiff).
//
// Example:
//   lumen::ThreadPool pool(4);
//   std::deque<std::future<std::vector<unsigned char>>> pending;
//   for (const auto& block : blocks) {
//     if (pending.size() >= 2 * static_cast<std::size_t>(pool.size())) {
//       write(pending.front().get()); // in order; rethrows a job's exception
//       pending.pop_front();
//     }
//     pending.push_back(pool.submit([block] { return compress(block); }));
//   }
//   for (auto& f : pending) write(f.get());
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace lumen {

class ThreadPool {
public:
  /// Starts max(1, threads) workers.
  explicit ThreadPool(int threads);
  /// Runs what is still queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  [[nodiscard]] int size() const noexcept { return static_cast<int>(workers_.size()); }

  /// Queues `job` (a callable taking no arguments); its result or exception arrives in the
  /// returned future. Thread-safe: several threads may submit to one pool.
  template <typename F> [[nodiscard]] auto submit(F&& job) -> std::future<std::invoke_result_t<std::decay_t<F>&>> {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    // std::function needs a copyable target; the packaged_task is shared to stay move-only inside.
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(job));
    auto result = task->get_future();
    post([task] { (*task)(); });
    return result;
  }

private:
  void post(std::function<void()> job);
  void work();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::jthread> workers_; // last: joined (by clear() in the destructor) before the rest goes
};

/// Calls fn(begin, end) on contiguous parts covering [0, n): at most one part per pool worker
/// plus one on the calling thread, each at least `min_part` long (all on the caller when `pool`
/// is null or n < 2 * min_part). Returns when every part has finished, also when one throws;
/// the first exception is rethrown then. For a stage's own pixel work on one big item.
void parallel_ranges(ThreadPool* pool, std::int64_t n, const std::function<void(std::int64_t, std::int64_t)>& fn,
                     std::int64_t min_part = 1);

} // namespace lumen
