// The "just encoding the PNG tiles" baseline of the tiles benchmark (bench/tiles/tiles_bench.sh):
// the u8 tiles encoded through the png set's encoder (plugins/png/png_io.cpp, the one tile.write
// uses), filter none, on 1 and 2 threads (each thread encodes every N-th tile), into /dev/null
// (pure encoding) and into files beside each other through lumen::AtomicFile (what tile.write
// adds: a temporary file and a rename per tile). Reports tiles/s, MB/s of raw pixels, the time for
// the whole set and the total PNG size (png_MB).
//   BM_EncodeTiles[ToFiles]/<threads>/<zlib strategy>: libpng + zlib level 1, the issue's
//     baseline ("libpng, compression level 1, fast filter"); strategy 0 = default, 3 = rle
//     (tile.write's `encoder: libpng, strategy: rle`).
//   BM_EncodeTiles[ToFiles]Libdeflate/<threads>/<level>: the libdeflate encoder (tile.write's
//     default, `encoder: libdeflate`) at libdeflate level 1, 2, 3.
//
//   bench_png_encode --tiles DIR     # the PNG tiles of a run (decoded once, then re-encoded)
//   bench_png_encode                 # 256 synthetic 256 x 256 tiles (noise over a gradient)
//
// Google Benchmark flags follow (--benchmark_repetitions=5 --benchmark_report_aggregates_only).
#include "lumen/atomic_file.hpp"
#include "png_io.hpp"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::vector<lumen::Array>& tiles() {
  static std::vector<lumen::Array> t;
  return t;
}

void load_tiles(const char* dir) {
  if (dir) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().extension() == ".png") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) tiles().push_back(lumen::png::read_png(f).image);
    std::fprintf(stderr, "tiles: %zu PNG files from %s\n", tiles().size(), dir);
    return;
  }
  std::mt19937 rng(3);
  std::normal_distribution<float> noise(0.0f, 12.0f);
  for (int i = 0; i < 256; ++i) {
    lumen::Array a(lumen::DType::u8, lumen::Shape{256, 256});
    auto v = a.writable<std::uint8_t>();
    for (std::int64_t k = 0; k < v.size(); ++k)
      v.data()[k] =
          static_cast<std::uint8_t>(std::clamp(40.0f + static_cast<float>(k % 256) * 0.2f + noise(rng), 0.0f, 255.0f));
    tiles().push_back(std::move(a));
  }
  std::fprintf(stderr, "tiles: 256 synthetic 256 x 256 tiles\n");
}

std::size_t tile_bytes() {
  std::size_t n = 0;
  for (const auto& t : tiles()) n += t.nbytes();
  return n;
}

template <typename Encode> void run_threads(int threads, Encode encode) {
  std::vector<std::jthread> workers;
  for (int w = 0; w < threads; ++w)
    workers.emplace_back([&, w] {
      for (std::size_t i = static_cast<std::size_t>(w); i < tiles().size(); i += static_cast<std::size_t>(threads))
        encode(i);
    });
}

// Total PNG bytes of every tile with `options` (outside the timed loops; reported as a counter).
double png_megabytes(const lumen::png::WriteOptions& options) {
  std::size_t total = 0;
  for (const auto& t : tiles()) {
    char* data = nullptr;
    std::size_t size = 0;
    std::FILE* f = open_memstream(&data, &size);
    lumen::png::write_png(f, t, options, "memory");
    std::fclose(f);
    total += size;
    std::free(data);
  }
  return static_cast<double>(total) / 1e6;
}

void encode_to_null(benchmark::State& state, int threads, const lumen::png::WriteOptions& options) {
  for (auto _ : state) {
    run_threads(threads, [&](std::size_t i) {
      std::FILE* f = std::fopen("/dev/null", "wb");
      lumen::png::write_png(f, tiles()[i], options, "/dev/null");
      std::fclose(f);
    });
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(tiles().size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(tile_bytes()));
  state.counters["png_MB"] = png_megabytes(options);
}

void encode_to_files(benchmark::State& state, int threads, const lumen::png::WriteOptions& options) {
  const fs::path dir = fs::temp_directory_path() / ("lumen-bench-png-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (auto _ : state) {
    run_threads(threads, [&](std::size_t i) {
      // As tile.write does: one 256 KiB stdio buffer per thread, so a tile is one write().
      thread_local std::vector<char> buffer(std::size_t{1} << 18);
      lumen::AtomicFile file(dir / ("tile_" + std::to_string(i) + ".png"));
      std::setvbuf(file.stream(), buffer.data(), _IOFBF, buffer.size());
      lumen::png::write_png(file.stream(), tiles()[i], options, "tile");
      file.commit();
    });
  }
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(tiles().size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(tile_bytes()));
}

// libpng (the baseline): /<threads>/<zlib strategy>, level 1, filter none.
lumen::png::WriteOptions libpng_options(const benchmark::State& state) {
  return {1, lumen::png::Filter::none, static_cast<lumen::png::Strategy>(state.range(1)), lumen::png::Encoder::libpng};
}

// libdeflate (tile.write's default encoder): /<threads>/<level>, filter none.
lumen::png::WriteOptions libdeflate_options(const benchmark::State& state) {
  return {static_cast<int>(state.range(1)), lumen::png::Filter::none, lumen::png::Strategy::standard,
          lumen::png::Encoder::libdeflate};
}

void BM_EncodeTiles(benchmark::State& state) {
  encode_to_null(state, static_cast<int>(state.range(0)), libpng_options(state));
}
void BM_EncodeTilesToFiles(benchmark::State& state) {
  encode_to_files(state, static_cast<int>(state.range(0)), libpng_options(state));
}
void BM_EncodeTilesLibdeflate(benchmark::State& state) {
  encode_to_null(state, static_cast<int>(state.range(0)), libdeflate_options(state));
}
void BM_EncodeTilesToFilesLibdeflate(benchmark::State& state) {
  encode_to_files(state, static_cast<int>(state.range(0)), libdeflate_options(state));
}

BENCHMARK(BM_EncodeTiles)
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({1, 3})
    ->Args({2, 3})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeTilesToFiles)->Args({2, 0})->Args({2, 3})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeTilesLibdeflate)
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({1, 2})
    ->Args({1, 3})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeTilesToFilesLibdeflate)->Args({2, 1})->UseRealTime()->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char** argv) {
  const char* dir = nullptr;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tiles") == 0 && i + 1 < argc) {
      dir = argv[++i];
      continue;
    }
    args.push_back(argv[i]);
  }
  load_tiles(dir);
  if (tiles().empty()) {
    std::fprintf(stderr, "no tiles to encode\n");
    return 1;
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
