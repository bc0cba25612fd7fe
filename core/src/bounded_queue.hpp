// A bounded multi-producer multi-consumer queue (odin-data's WorkQueue idea): every queue has a
// capacity, so memory has a ceiling by construction. Producers block when it is full.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

namespace lumen::engine {

template <typename T> class BoundedQueue {
public:
  BoundedQueue(std::size_t capacity, std::size_t producers) : capacity_(capacity), producers_(producers) {}

  /// Blocks while full. Returns false when the queue was aborted (the value is dropped).
  bool push(T&& v) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
    if (aborted_) return false;
    items_.push_back(std::move(v));
    lock.unlock();
    not_empty_.notify_one();
    return true;
  }

  /// Blocks until an item arrives, or returns nullopt once every producer is done and the
  /// queue is drained (or it was aborted).
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return aborted_ || !items_.empty() || producers_ == 0; });
    if (aborted_ || items_.empty()) return std::nullopt;
    std::optional<T> v(std::move(items_.front()));
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return v;
  }

  /// One producer has finished.
  void producer_done() {
    {
      std::lock_guard lock(mutex_);
      if (producers_ > 0) --producers_;
    }
    not_empty_.notify_all();
  }

  /// Wakes everyone and drops queued items.
  void abort() {
    std::deque<T> dropped;
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
      dropped.swap(items_);
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

private:
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  std::size_t capacity_;
  std::size_t producers_;
  bool aborted_ = false;
};

} // namespace lumen::engine
