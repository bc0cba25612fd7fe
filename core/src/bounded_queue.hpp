// A bounded multi-producer multi-consumer queue (odin-data's WorkQueue idea): every queue has a
// capacity, so memory has a ceiling by construction. Producers block when it is full: when it
// holds `capacity` values, or values weighing `max_weight` in all (bytes, for items; one value
// is always admitted into an empty queue, however heavy, so the queue never deadlocks).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>

namespace lumen::engine {

template <typename T> class BoundedQueue {
public:
  using Weigh = std::function<std::size_t(const T&)>;

  BoundedQueue(std::size_t capacity, std::size_t producers,
               std::size_t max_weight = std::numeric_limits<std::size_t>::max(), Weigh weigh = {})
      : capacity_(capacity), producers_(producers), max_weight_(max_weight), weigh_(std::move(weigh)) {}

  /// Blocks while full. Returns false when the queue was aborted (the value is dropped).
  bool push(T&& v) {
    const std::size_t w = weigh_ ? weigh_(v) : 0;
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] {
      return aborted_ || (items_.size() < capacity_ && (items_.empty() || weight_ + w <= max_weight_));
    });
    if (aborted_) return false;
    weight_ += w;
    items_.push_back({std::move(v), w});
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
    std::optional<T> v(std::move(items_.front().value));
    weight_ -= items_.front().weight;
    items_.pop_front();
    lock.unlock();
    not_full_.notify_all(); // a light value may fit where a heavy one waits
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
    std::deque<Entry> dropped;
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
      dropped.swap(items_);
      weight_ = 0;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

private:
  struct Entry {
    T value;
    std::size_t weight;
  };
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Entry> items_;
  std::size_t capacity_;
  std::size_t producers_;
  std::size_t max_weight_;
  Weigh weigh_;
  std::size_t weight_ = 0;
  bool aborted_ = false;
};

} // namespace lumen::engine
