// The executor's bounded queue: item count and weight (array bytes) limits, and the rule that
// one item always fits into an empty queue.
#include "../../core/src/bounded_queue.hpp"
#include "../../core/src/buffer_cache.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using lumen::engine::BoundedQueue;

TEST_CASE("a bounded queue blocks on its weight as well as its count", "[queue]") {
  BoundedQueue<int> q(8, 1, 100, [](const int& v) { return static_cast<std::size_t>(v); });
  REQUIRE(q.push(60));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    (void)q.push(50); // 60 + 50 > 100: waits for a pop
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(pushed);
  CHECK(q.pop() == 60);
  producer.join();
  CHECK(pushed);
  CHECK(q.pop() == 50);
  CHECK(q.push(1000)); // heavier than the budget, but the queue is empty: admitted
  CHECK(q.size() == 1);
  q.producer_done();
  CHECK(q.pop() == 1000);
  CHECK_FALSE(q.pop().has_value());
}

TEST_CASE("a bounded queue still blocks on its count", "[queue]") {
  BoundedQueue<int> q(2, 1); // no weight limit
  REQUIRE(q.push(1));
  REQUIRE(q.push(2));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    (void)q.push(3);
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(pushed);
  CHECK(q.pop() == 1);
  producer.join();
  q.abort();
  CHECK_FALSE(q.pop().has_value());
}

TEST_CASE("large buffers are recycled by size class, small ones never", "[buffer_cache]") {
  using lumen::detail::BufferCache;
  auto& cache = BufferCache::instance();
  std::size_t capacity = 0;
  std::byte* small = lumen::detail::allocate_aligned(1024);
  CHECK_FALSE(cache.give(small, 1024)); // the caller frees it
  lumen::detail::free_aligned(small);

  const std::size_t big = BufferCache::kMinBytes * 2;
  std::byte* a = lumen::detail::allocate_aligned(big);
  REQUIRE(cache.give(a, big));
  CHECK(cache.take(big * 2, capacity) == nullptr); // too small for this request
  CHECK(cache.take(big / 2, capacity) == nullptr); // more than 25 % larger than asked
  std::byte* again = cache.take(big - 1000, capacity);
  CHECK(again == a);
  CHECK(capacity == big);
  lumen::detail::free_aligned(again);
  CHECK_FALSE(cache.give(nullptr, BufferCache::kCapacity + 1)); // larger than the whole cache
}
