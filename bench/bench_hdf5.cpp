// HDF5 throughput: a stack of 200 frames of 1024x1024 u16 with detector-like noisy content
// appended frame by frame into one chunked dataset (one frame per chunk) without compression,
// with deflate and with shuffle+deflate at levels 1 (the default) and 4 (chunks compressed in the writer's own threads,
// written with H5Dwrite_chunk), in MB/s of raw data; and hyperslab reads of that stack in
// ranges of 10 frames. Files live in the temp dir (page cache).
//
//   build/bin/bench_hdf5 --benchmark_min_time=1
#include "hdf5_io.hpp"

#include <benchmark/benchmark.h>
#include <cstdint>
#include <filesystem>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using lumen::hdf5::Codec;

namespace {

constexpr std::int64_t kSide = 1024, kFrames = 200, kDistinct = 8;

// Eight distinct frames cycled (200 would take 400 MB): a background with a gradient, a few
// bright blobs and Poisson-like noise in the low bits, as real detector frames have.
const lumen::Array& source_frames() {
  static const lumen::Array a = [] {
    lumen::Array f = lumen::Array::uninitialized(lumen::DType::u16, lumen::Shape{kDistinct, kSide, kSide});
    std::mt19937 rng(7);
    std::poisson_distribution<int> noise(40);
    auto v = f.writable<std::uint16_t>();
    for (std::int64_t i = 0; i < f.size(); ++i) {
      const std::int64_t x = i % kSide, y = (i / kSide) % kSide;
      const int blob = ((x / 128 + y / 128) % 5 == 0) ? 800 : 0;
      v.data()[i] = static_cast<std::uint16_t>(100 + x / 16 + y / 32 + blob + noise(rng));
    }
    return f;
  }();
  return a;
}

int pool_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void write_stack(const fs::path& file, Codec codec, lumen::ThreadPool* pool, int level = 1) {
  lumen::hdf5::WriteOptions o;
  o.dataset = "entry/data/data";
  o.codec = codec;
  o.level = level;
  const lumen::Array& src = source_frames();
  lumen::hdf5::H5ChunkWriter w(file, lumen::DType::u16, lumen::Shape{1, kSide, kSide}, true, o, pool, "bench");
  for (std::int64_t i = 0; i < kFrames; ++i) w.append(src.slice(i % kDistinct, i % kDistinct + 1));
  w.close();
}

void BM_Hdf5StackWrite(benchmark::State& state, Codec codec, int level) {
  (void)source_frames();
  lumen::ThreadPool pool(pool_threads());
  const fs::path f = fs::temp_directory_path() / "lumen_bench_hdf5_write.h5";
  for (auto _ : state) write_stack(f, codec, &pool, level);
  state.counters["MB_file"] = static_cast<double>(fs::file_size(f)) / 1e6;
  fs::remove(f);
  state.SetBytesProcessed(state.iterations() * kFrames * kSide * kSide * 2);
}
BENCHMARK_CAPTURE(BM_Hdf5StackWrite, none, Codec::none, 0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hdf5StackWrite, deflate_level1, Codec::deflate, 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Hdf5StackWrite, shuffle_deflate_level1, Codec::shuffle_deflate, 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Hdf5StackWrite, shuffle_deflate_level4, Codec::shuffle_deflate, 4)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Hdf5HyperslabRead(benchmark::State& state, Codec codec) {
  const fs::path f = fs::temp_directory_path() /
                     (std::string("lumen_bench_hdf5_read_") + std::to_string(static_cast<int>(codec)) + ".h5");
  if (!fs::exists(f)) {
    lumen::ThreadPool pool(pool_threads());
    write_stack(f, codec, &pool);
  }
  // Warm the page cache first: the figure is HDF5 + Lumen, not the disk.
  (void)lumen::hdf5::H5Reader(f).read("entry/data/data", 0, kFrames);
  for (auto _ : state) {
    lumen::hdf5::H5Reader r(f);
    for (std::int64_t b = 0; b < kFrames; b += 10) {
      lumen::Array a = r.read("entry/data/data", b, b + 10);
      benchmark::DoNotOptimize(a.raw());
    }
  }
  state.SetBytesProcessed(state.iterations() * kFrames * kSide * kSide * 2);
}
BENCHMARK_CAPTURE(BM_Hdf5HyperslabRead, none, Codec::none)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Hdf5HyperslabRead, shuffle_deflate, Codec::shuffle_deflate)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
