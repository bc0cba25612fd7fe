// TIFF throughput: a numbered series of 200 single-page 512x512 u16 files read through the
// tiff.read stage (series, mode frames: plan + one item per file), reported as frames/s; and a
// 200-page 512x512 u16 file read as one stack and written, in MB/s: uncompressed, and deflate and
// zstd (default levels 6 and 9, predictor horizontal) through libtiff's codec on one thread and
// through tiff.write's pool (libdeflate/libzstd, strips written raw); MB_file is the file size.
// Writes are timed in wall-clock time (the pool's work is not on the timing thread's CPU clock).
// Files are written once into the temp dir and read from the page cache.
//
//   build/bin/bench_tiff --benchmark_min_time=1
#include "lumen/testing.hpp"
#include "tiff_io.hpp"
#include "tiff_stages.hpp"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kSide = 512, kFrames = 200;

// Detector-like content: a smooth background, a gradient and noise in the low bits.
lumen::Array frames(std::int64_t n) {
  lumen::Array a = lumen::Array::uninitialized(lumen::DType::u16, lumen::Shape{n, kSide, kSide});
  std::mt19937 rng(1);
  auto v = a.writable<std::uint16_t>();
  for (std::int64_t i = 0; i < a.size(); ++i)
    v.data()[i] = static_cast<std::uint16_t>(200 + (i % kSide) / 4 + ((i / kSide) % kSide) / 8 + rng() % 32);
  return a;
}

const fs::path& series_dir() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / "lumen_bench_tiff_series";
    fs::remove_all(d);
    fs::create_directories(d);
    const lumen::Array all = frames(kFrames);
    for (std::int64_t i = 0; i < kFrames; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "frame_%04lld.tif", static_cast<long long>(i));
      lumen::tiff::write_tiff(d / name, all.slice(i, i + 1).reshape(lumen::Shape{kSide, kSide}), {}, "bench");
    }
    return d;
  }();
  return dir;
}

fs::path stack_file(const std::string& compression) {
  const fs::path f = fs::temp_directory_path() / ("lumen_bench_tiff_stack_" + compression + ".tif");
  if (!fs::exists(f)) {
    lumen::tiff::WriteOptions o;
    o.compression = compression;
    if (compression != "none") o.predictor = "horizontal";
    lumen::tiff::write_tiff(f, frames(kFrames), o, "bench");
  }
  return f;
}

void BM_TiffSeriesFrames(benchmark::State& state) {
  const fs::path dir = series_dir();
  lumen::tiff::TiffRead reader;
  reader.path.assign(lumen::ParamValue{(dir / "frame_*.tif").string()});
  reader.series.assign(lumen::ParamValue{true});
  reader.mode.assign(lumen::ParamValue{std::string("frames")});
  lumen::testing::Context ctx(dir);
  reader.attach(ctx);
  for (auto _ : state) {
    struct Count final : lumen::Emit {
      std::int64_t n = 0;
      void operator()(lumen::Item item) override { n += item.array("image").size() > 0; }
    } count;
    for (const auto& unit : reader.plan()) reader.read(unit, count);
    benchmark::DoNotOptimize(count.n);
  }
  state.SetItemsProcessed(state.iterations() * kFrames);
  state.SetBytesProcessed(state.iterations() * kFrames * kSide * kSide * 2);
}
BENCHMARK(BM_TiffSeriesFrames)->Unit(benchmark::kMillisecond);

void BM_TiffStackRead(benchmark::State& state, const std::string& compression) {
  const fs::path f = stack_file(compression);
  for (auto _ : state) {
    lumen::tiff::TiffFile file(f);
    lumen::Array a = file.read_pages(0, file.pages());
    benchmark::DoNotOptimize(a.raw());
  }
  state.SetBytesProcessed(state.iterations() * kFrames * kSide * kSide * 2);
}
BENCHMARK_CAPTURE(BM_TiffStackRead, none, std::string("none"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TiffStackRead, deflate, std::string("deflate"))->Unit(benchmark::kMillisecond);

// Threads of the pool: as many as the machine has (the stage's threads: 0 on a run with
// --threads equal to the cores).
int pool_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// `threads` 0: libtiff's own codec on this thread (what tiff.write did before the pool); > 0:
// deflate/zstd strips compressed in a lumen::ThreadPool of that size and written raw.
void BM_TiffStackWrite(benchmark::State& state, const std::string& compression, int threads) {
  const lumen::Array a = frames(kFrames);
  const fs::path f = fs::temp_directory_path() / "lumen_bench_tiff_write.tif";
  lumen::tiff::WriteOptions o;
  o.compression = compression;
  if (compression != "none") o.predictor = "horizontal";
  std::unique_ptr<lumen::ThreadPool> pool;
  if (threads > 0) pool = std::make_unique<lumen::ThreadPool>(threads);
  for (auto _ : state) lumen::tiff::write_tiff(f, a, o, "bench", pool.get());
  state.counters["MB_file"] = static_cast<double>(fs::file_size(f)) / 1e6;
  state.counters["threads"] = threads;
  fs::remove(f);
  state.SetBytesProcessed(state.iterations() * kFrames * kSide * kSide * 2);
}
BENCHMARK_CAPTURE(BM_TiffStackWrite, none, std::string("none"), 0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TiffStackWrite, deflate_libtiff, std::string("deflate"), 0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TiffStackWrite, deflate_pool1, std::string("deflate"), 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TiffStackWrite, deflate_pool, std::string("deflate"), pool_threads())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TiffStackWrite, zstd_libtiff, std::string("zstd"), 0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_TiffStackWrite, zstd_pool1, std::string("zstd"), 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_TiffStackWrite, zstd_pool, std::string("zstd"), pool_threads())
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
