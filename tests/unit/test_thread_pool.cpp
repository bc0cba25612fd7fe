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
