// FITS read throughput: CFITSIO alone versus the fits.read stage path, for a 4096x4096
// float32 image read from the page cache (the file is written once into the temp dir and
// read repeatedly). The target is the stage within 1.5x of CFITSIO alone. BM_Pixels compares
// CFITSIO's conversion with the direct pread path on 1 and 2 threads.
//
//   build/bin/bench_fits --benchmark_min_time=1
#include "fits_io.hpp"
#include "fits_stages.hpp"
#include "lumen/testing.hpp"

#include <benchmark/benchmark.h>
#include <cstdint>
#include <filesystem>
#include <fitsio.h>
#include <memory>
#include <vector>

namespace {

constexpr long kSide = 4096;

const std::filesystem::path& sample_file() {
  static const std::filesystem::path file = [] {
    auto path = std::filesystem::temp_directory_path() / "lumen_bench_fits_4096_f32.fits";
    std::filesystem::remove(path);
    lumen::Array a = lumen::Array::uninitialized(lumen::DType::f32, lumen::Shape{kSide, kSide});
    float v = 0;
    for (float& x : a.writable<float>()) x = (v += 0.25f);
    (void)lumen::fits::write_fits(path, a, lumen::Meta{});
    return path;
  }();
  return file;
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kSide * kSide * 4);
}

// CFITSIO alone: open, read the image into a preallocated buffer, close.
void BM_CfitsioRead(benchmark::State& state) {
  const auto& file = sample_file();
  std::vector<float> buffer(static_cast<std::size_t>(kSide * kSide));
  for (auto _ : state) {
    int status = 0, anynul = 0;
    fitsfile* f = nullptr;
    fits_open_diskfile(&f, file.c_str(), READONLY, &status);
    fits_read_img(f, TFLOAT, 1, kSide * kSide, nullptr, buffer.data(), &anynul, &status);
    fits_close_file(f, &status);
    if (status) state.SkipWithError("CFITSIO failed");
    benchmark::DoNotOptimize(buffer.data());
  }
  set_bytes(state);
}
BENCHMARK(BM_CfitsioRead)->Unit(benchmark::kMillisecond);

// The fits.read stage: open, list HDUs, header to meta, allocate the array, read into it.
void BM_FitsReadStage(benchmark::State& state) {
  const auto& file = sample_file();
  lumen::fits::FitsRead reader;
  reader.path.assign(lumen::ParamValue{file.string()});
  lumen::testing::Context ctx(file.parent_path());
  reader.attach(ctx);
  reader.start();
  const auto units = reader.plan();
  for (auto _ : state) {
    lumen::testing::Collect out;
    reader.read(units.front(), out);
    benchmark::DoNotOptimize(out.items.front().array("image").raw());
  }
  set_bytes(state);
}
BENCHMARK(BM_FitsReadStage)->Unit(benchmark::kMillisecond);

// FitsFile::pixels alone (a new array each time, as the stage allocates one per image): through
// CFITSIO (direct:0) or the direct pread + byte-swap path (direct:1), on 1 or 2 threads.
void BM_Pixels(benchmark::State& state) {
  const auto& file = sample_file();
  const int threads = static_cast<int>(state.range(0));
  const bool direct = state.range(1) != 0;
  std::unique_ptr<lumen::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<lumen::ThreadPool>(threads - 1);
  lumen::fits::FitsFile f(file);
  for (auto _ : state) benchmark::DoNotOptimize(f.pixels(0, pool.get(), direct).raw());
  set_bytes(state);
}
BENCHMARK(BM_Pixels)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "direct"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

} // namespace

BENCHMARK_MAIN();
