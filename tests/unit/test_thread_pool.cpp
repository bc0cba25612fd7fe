// Unit tests for lumen::ThreadPool (core/include/lumen/thread_pool.hpp): results come back
// through futures, jobs run on the workers, exceptions reach get(), several threads may submit
// to one pool, and the destructor runs what is still queued.
//
// Run: build/bin/test_core "[thread_pool]"
#include "lumen/thread_pool.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>

TEST_CASE("thread pool: results, sizes and move-only results", "[thread_pool]") {
  lumen::ThreadPool pool(3);
  CHECK(pool.size() == 3);
  CHECK(lumen::ThreadPool(0).size() == 1);
  std::vector<std::future<int>> f;
  for (int i = 0; i < 100; ++i) f.push_back(pool.submit([i] { return i * i; }));
  for (int i = 0; i < 100; ++i) CHECK(f[static_cast<std::size_t>(i)].get() == i * i);
  auto p = pool.submit([] { return std::make_unique<std::string>("moved"); });
  CHECK(*p.get() == "moved");
  pool.submit([] {}).get(); // void jobs
}

TEST_CASE("thread pool: jobs run on the workers, exceptions reach get()", "[thread_pool]") {
  lumen::ThreadPool pool(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  std::vector<std::future<void>> f;
  for (int i = 0; i < 20; ++i)
    f.push_back(pool.submit([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::lock_guard lock(m);
      ids.insert(std::this_thread::get_id());
    }));
  for (auto& x : f) x.get();
  CHECK(ids.count(std::this_thread::get_id()) == 0);
  CHECK(ids.size() <= 2);
  auto bad = pool.submit([]() -> int { throw std::runtime_error("job failed"); });
  CHECK_THROWS_WITH(bad.get(), "job failed");
  CHECK(pool.submit([] { return 7; }).get() == 7); // the worker survived
}

TEST_CASE("thread pool: shared by submitting threads, drained by the destructor", "[thread_pool]") {
  std::atomic<int> done{0};
  {
    lumen::ThreadPool pool(2);
    std::vector<std::jthread> producers;
    for (int t = 0; t < 4; ++t)
      producers.emplace_back([&] {
        for (int i = 0; i < 50; ++i) (void)pool.submit([&] { done.fetch_add(1); });
      });
  } // producers join first (declared after the pool), then the pool runs the rest and joins
  CHECK(done.load() == 200);
}

TEST_CASE("parallel_ranges covers [0, n) once, in parts of at least min_part, and rethrows the first error",
          "[thread_pool]") {
  lumen::ThreadPool pool(3);
  for (const std::int64_t n : {0, 1, 7, 100, 1001}) {
    std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
    std::atomic<int> parts{0};
    std::atomic<std::int64_t> shortest{n};
    lumen::parallel_ranges(
        &pool, n,
        [&](std::int64_t a, std::int64_t b) {
          ++parts;
          std::int64_t s = shortest.load();
          while (b - a < s && !shortest.compare_exchange_weak(s, b - a)) {
          }
          for (std::int64_t i = a; i < b; ++i) ++hits[static_cast<std::size_t>(i)];
        },
        10);
    for (const auto& h : hits) REQUIRE(h == 1);
    REQUIRE(parts <= 4);
    if (n >= 20) REQUIRE(shortest >= 10);
  }
  int calls = 0; // no pool: one call on the caller
  lumen::parallel_ranges(nullptr, 50, [&](std::int64_t a, std::int64_t b) {
    ++calls;
    REQUIRE((a == 0 && b == 50));
  });
  REQUIRE(calls == 1);
  std::atomic<int> finished{0};
  REQUIRE_THROWS_WITH(lumen::parallel_ranges(&pool, 400,
                                             [&](std::int64_t a, std::int64_t) {
                                               if (a > 0) throw std::runtime_error("part failed");
                                               ++finished;
                                             }),
                      "part failed");
  REQUIRE(finished == 1); // the caller's part ran; every part was waited for before the rethrow
}
