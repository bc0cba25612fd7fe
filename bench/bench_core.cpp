// Micro-benchmarks of the per-item building blocks of the SDK: array conversion and copy on
// write, meta access, output-name expansion and the ledger hash.
//
//   build/bin/bench_core --benchmark_min_time=0.2
#include "lumen/engine/ledger.hpp"
#include "lumen/lumen.hpp"

#include <benchmark/benchmark.h>
#include <cstdint>
#include <string>

namespace {

lumen::Array filled_u16(std::int64_t side) {
  lumen::Array a = lumen::Array::uninitialized(lumen::DType::u16, lumen::Shape{side, side});
  std::uint16_t v = 0;
  for (std::uint16_t& x : a.writable<std::uint16_t>()) x = v++;
  return a;
}

// u16 -> f32, the conversion a calibration stage does on every frame.
void BM_ArrayAsF32(benchmark::State& state) {
  const lumen::Array src = filled_u16(state.range(0));
  for (auto _ : state) {
    lumen::Array f = src.as(lumen::DType::f32);
    benchmark::DoNotOptimize(f.raw());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(src.nbytes()));
}
BENCHMARK(BM_ArrayAsF32)->Arg(256)->Arg(2048);

// writable() on a shared array: the copy a branch pays before modifying an image in place.
void BM_ArrayCopyOnWrite(benchmark::State& state) {
  const lumen::Array src = filled_u16(state.range(0));
  for (auto _ : state) {
    lumen::Array shared = src;
    auto view = shared.writable<std::uint16_t>();
    benchmark::DoNotOptimize(view.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(src.nbytes()));
}
BENCHMARK(BM_ArrayCopyOnWrite)->Arg(256)->Arg(2048);

// A typical reader's meta: set a dozen keys, read three back.
void BM_MetaSetGet(benchmark::State& state) {
  for (auto _ : state) {
    lumen::Meta m;
    for (int i = 0; i < 12; ++i) m.set("key" + std::to_string(i), lumen::MetaValue{static_cast<double>(i)});
    benchmark::DoNotOptimize(m.get_number("key3"));
    benchmark::DoNotOptimize(m.get_number("key7"));
    benchmark::DoNotOptimize(m.get_number("key11"));
  }
}
BENCHMARK(BM_MetaSetGet);

// A writer's file name per item.
void BM_ExpandName(benchmark::State& state) {
  lumen::Item item("starfield/0042");
  item.meta.set("index", lumen::MetaValue{std::int64_t{42}});
  for (auto _ : state) benchmark::DoNotOptimize(lumen::expand_name("{stem}_{index:04d}.png", item, "write"));
}
BENCHMARK(BM_ExpandName);

// The ledger key of one work unit.
void BM_StableHash(benchmark::State& state) {
  const std::string text(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(lumen::engine::stable_hash(text));
}
BENCHMARK(BM_StableHash)->Arg(64)->Arg(4096);

} // namespace

BENCHMARK_MAIN();
