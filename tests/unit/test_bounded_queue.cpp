// The executor's bounded queue: item count and weight (array bytes) limits, and the rule that
// one item always fits into an empty queue; the buffer cache and its mapped allocations.
#include "../../core/src/bounded_queue.hpp"
#include "../../core/src/buffer_cache.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

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
  lumen::detail::free_aligned(small, 1024);

  const std::size_t big = BufferCache::kMinBytes * 2;
  std::byte* a = lumen::detail::allocate_aligned(big);
  REQUIRE(cache.give(a, big));
  CHECK(cache.take(big * 2, capacity) == nullptr); // too small for this request
  CHECK(cache.take(big / 2, capacity) == nullptr); // more than 25 % larger than asked
  std::byte* again = cache.take(big - 1000, capacity);
  CHECK(again == a);
  CHECK(capacity == big);
  lumen::detail::free_aligned(again, capacity);
  CHECK_FALSE(cache.give(nullptr, BufferCache::kCapacity + 1)); // larger than the whole cache
}

TEST_CASE("a cached buffer of a size nobody asks for again is released after kMaxAge releases", "[buffer_cache]") {
  using lumen::detail::BufferCache;
  auto& cache = BufferCache::instance();
  const std::size_t stale = BufferCache::kMinBytes * 3, busy = BufferCache::kMinBytes;
  std::size_t capacity = 0;
  REQUIRE(cache.give(lumen::detail::allocate_aligned(stale), stale));
  std::byte* b = lumen::detail::allocate_aligned(busy);
  for (std::uint64_t i = 0; i < BufferCache::kMaxAge; ++i) { // a steady stream of another size
    REQUIRE(cache.give(b, busy));
    b = cache.take(busy, capacity);
    REQUIRE(b != nullptr);
  }
  REQUIRE(cache.give(b, busy)); // the stale buffer is now kMaxAge + 1 releases old: unmapped
  CHECK(cache.take(stale, capacity) == nullptr);
  b = cache.take(busy, capacity);
  REQUIRE(b != nullptr);
  lumen::detail::free_aligned(b, capacity);
}

namespace {
// Resident set size of this process, in bytes (Linux).
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}
} // namespace

TEST_CASE("large buffers go back to the system when freed, whatever small objects live beside them", "[buffer_cache]") {
  // Interleave 64 buffers of 512 KiB with small objects that stay alive: memory taken from a
  // heap would be pinned by them; mapped buffers must be returned whole.
  constexpr std::size_t kBig = std::size_t{512} << 10, kCount = 64;
  const std::size_t before = resident_bytes();
  std::vector<std::byte*> big;
  std::vector<std::unique_ptr<char[]>> small;
  for (std::size_t i = 0; i < kCount; ++i) {
    big.push_back(lumen::detail::allocate_aligned(kBig));
    CHECK(reinterpret_cast<std::uintptr_t>(big.back()) % 64 == 0);
    std::memset(big.back(), 1, kBig); // resident now
    small.push_back(std::make_unique<char[]>(48));
  }
  const std::size_t peak = resident_bytes();
  REQUIRE(peak >= before + kCount * kBig * 9 / 10);
  for (auto* p : big) lumen::detail::free_aligned(p, kBig);
  CHECK(resident_bytes() + kCount * kBig * 9 / 10 <= peak);
}
