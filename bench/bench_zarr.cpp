// Zarr throughput: a 1000 x 512 x 512 photon-count movie (Poisson, lambda 5 to 100 varying
// smoothly in space) as u16 counts, and the same movie variance-stabilised and quantised to u8
// (round(2 sqrt(x + 3/8)), what photon.anscombe + photon.quantize at beta 1 give). Written with
// lumen::zarr::StoreWriter (what zarr.write uses) in blocks of 10 frames, chunks compressed by a
// pool of one thread per core; then read back whole in 100-frame blocks, and one 100-frame range
// (chunk-aligned and straddling two chunk rows). MB/s are of raw frame bytes; `ratio` is raw /
// stored. Stores live in the temp dir (page cache).
//
//   build/bin/bench_zarr --benchmark_min_time=1
#include "zarr_io.hpp"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using lumen::zarr::Compressor;

namespace {

constexpr std::int64_t kFrames = 1000, kSide = 512;

int cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Counts: lambda from 5 (corners) to 100 (a bright ring of "cells"), one distribution per level.
const lumen::Array& counts_u16() {
  static const lumen::Array a = [] {
    lumen::Array m = lumen::Array::uninitialized(lumen::DType::u16, lumen::Shape{kFrames, kSide, kSide});
    std::vector<int> level(static_cast<std::size_t>(kSide * kSide));
    for (std::int64_t y = 0; y < kSide; ++y)
      for (std::int64_t x = 0; x < kSide; ++x) {
        const double r = std::hypot(static_cast<double>(x - kSide / 2), static_cast<double>(y - kSide / 2)) / kSide;
        const double blobs =
            0.5 + 0.5 * std::sin(static_cast<double>(x) / 23.0) * std::cos(static_cast<double>(y) / 17.0);
        level[static_cast<std::size_t>(y * kSide + x)] =
            static_cast<int>(std::lround(5 + 95 * std::clamp(blobs * (1.0 - r), 0.0, 1.0)));
      }
    std::vector<std::poisson_distribution<int>> dist;
    for (int l = 0; l <= 100; ++l) dist.emplace_back(std::max(l, 1));
    // Two halves in parallel: the movie takes a few seconds to draw.
    auto fill = [&](std::int64_t t0, std::int64_t t1, unsigned seed) {
      std::mt19937_64 rng(seed);
      auto local = dist;
      auto* v = m.writable<std::uint16_t>().data();
      for (std::int64_t t = t0; t < t1; ++t)
        for (std::int64_t i = 0; i < kSide * kSide; ++i)
          v[t * kSide * kSide + i] = static_cast<std::uint16_t>(local[static_cast<std::size_t>(level[i])](rng));
    };
    (void)m.writable<std::uint16_t>(); // unshared before the threads write
    std::thread half(fill, 0, kFrames / 2, 1u);
    fill(kFrames / 2, kFrames, 2u);
    half.join();
    return m;
  }();
  return a;
}

const lumen::Array& quantised_u8() {
  static const lumen::Array a = [] {
    const lumen::Array& c = counts_u16();
    lumen::Array q = lumen::Array::uninitialized(lumen::DType::u8, c.shape());
    const auto* src = c.view<std::uint16_t>().data();
    auto* dst = q.writable<std::uint8_t>().data();
    for (std::int64_t i = 0; i < c.size(); ++i)
      dst[i] = static_cast<std::uint8_t>(std::lround(2.0 * std::sqrt(static_cast<double>(src[i]) + 0.375)));
    return q;
  }();
  return a;
}

struct Layout {
  std::int64_t rows = 0, cols = 0;
  const char* cname = "zstd";
  int clevel = 5;
  int shuffle = 2;            // bit
  std::int64_t blocksize = 0; // automatic
};

std::uint64_t write_movie(const fs::path& store, const lumen::Array& movie, const Layout& l, lumen::ThreadPool& pool) {
  lumen::zarr::WriteOptions o;
  o.chunk_frames = 100;
  o.chunk_rows = l.rows;
  o.chunk_cols = l.cols;
  o.compressor = Compressor::blosc;
  o.blosc.cname = l.cname;
  o.blosc.clevel = l.clevel;
  o.blosc.shuffle = l.shuffle;
  o.blosc.blocksize = l.blocksize;
  lumen::zarr::StoreWriter w(store, movie.dtype(), kSide, kSide, o, &pool, "bench");
  for (std::int64_t t = 0; t < kFrames; t += 10) w.append(movie.slice(t, t + 10));
  return w.commit("{}").bytes_stored;
}

fs::path store_path(const std::string& name) {
  return fs::temp_directory_path() / ("lumen_bench_zarr_" + name + ".zarr");
}

void BM_ZarrWrite(benchmark::State& state, bool u8, Layout l) {
  const lumen::Array& movie = u8 ? quantised_u8() : counts_u16();
  lumen::ThreadPool pool(cores());
  const fs::path store = store_path("write");
  std::uint64_t stored = 0;
  for (auto _ : state) stored = write_movie(store, movie, l, pool);
  state.counters["ratio"] = static_cast<double>(movie.nbytes()) / static_cast<double>(stored);
  state.counters["MB_stored"] = static_cast<double>(stored) / 1e6;
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(movie.nbytes()));
  fs::remove_all(store);
}

const fs::path& read_store(bool u8, const Layout& l) {
  static struct Made { // removed when the benchmark exits
    std::map<std::string, fs::path> stores;
    ~Made() {
      for (const auto& [name, p] : stores) fs::remove_all(p);
    }
  } made_stores;
  auto& made = made_stores.stores;
  const std::string name = std::string(u8 ? "u8_" : "u16_") + std::to_string(l.rows) + "_" + l.cname +
                           std::to_string(l.clevel) + "_" + std::to_string(l.shuffle) + "_" +
                           std::to_string(l.blocksize);
  auto it = made.find(name);
  if (it == made.end()) {
    lumen::ThreadPool pool(cores());
    const fs::path p = store_path(name);
    write_movie(p, u8 ? quantised_u8() : counts_u16(), l, pool);
    it = made.emplace(name, p).first;
  }
  return it->second;
}

void BM_ZarrReadAll(benchmark::State& state, bool u8, Layout l) {
  const lumen::zarr::StoreReader r(read_store(u8, l));
  lumen::ThreadPool pool(cores());
  std::int64_t bytes = 0;
  for (auto _ : state)
    for (std::int64_t t = 0; t < kFrames; t += 100) {
      const lumen::Array block = r.read(t, t + 100, &pool, cores());
      bytes += static_cast<std::int64_t>(block.nbytes());
      benchmark::DoNotOptimize(block.raw());
    }
  state.SetBytesProcessed(bytes);
}

void BM_ZarrReadRange(benchmark::State& state, bool u8, Layout l, std::int64_t begin) {
  const lumen::zarr::StoreReader r(read_store(u8, l));
  lumen::ThreadPool pool(cores());
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const lumen::Array block = r.read(begin, begin + 100, &pool, cores());
    bytes += static_cast<std::int64_t>(block.nbytes());
    benchmark::DoNotOptimize(block.raw());
  }
  state.SetBytesProcessed(bytes);
}

const Layout kFrame{};                // chunks (100, 512, 512), blosc zstd 5, bit-shuffle (the defaults)
const Layout kTiles{128, 128};        // chunks (100, 128, 128)
const Layout kLz4{0, 0, "lz4", 5};    // chunks (100, 512, 512), blosc lz4 5, bit-shuffle
const Layout kZstd1{0, 0, "zstd", 1}; // zstd level 1 (Blosc clevel 1), bit-shuffle
// For u8 quantised data, no shuffle and 256 KiB Blosc blocks compress better and faster.
const Layout kZstd1Plain{0, 0, "zstd", 1, 0, 262144};
const Layout kZstd3Plain{0, 0, "zstd", 3, 0, 262144};

#define LUMEN_ZARR_BENCH(fn, name, ...)                                                                                \
  BENCHMARK_CAPTURE(fn, name, __VA_ARGS__)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.5)

LUMEN_ZARR_BENCH(BM_ZarrWrite, u8_zstd5_frames, true, kFrame);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u8_zstd5_tiles128, true, kTiles);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u8_lz4_frames, true, kLz4);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u8_zstd1_frames, true, kZstd1);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u8_zstd1_noshuffle_256k, true, kZstd1Plain);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u8_zstd3_noshuffle_256k, true, kZstd3Plain);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u16_zstd5_frames, false, kFrame);
LUMEN_ZARR_BENCH(BM_ZarrWrite, u16_zstd5_tiles128, false, kTiles);
LUMEN_ZARR_BENCH(BM_ZarrReadAll, u8_zstd5_frames, true, kFrame);
LUMEN_ZARR_BENCH(BM_ZarrReadAll, u8_zstd5_tiles128, true, kTiles);
LUMEN_ZARR_BENCH(BM_ZarrReadAll, u8_zstd1_noshuffle_256k, true, kZstd1Plain);
LUMEN_ZARR_BENCH(BM_ZarrReadAll, u16_zstd5_frames, false, kFrame);
LUMEN_ZARR_BENCH(BM_ZarrReadRange, u8_zstd5_frames_aligned, true, kFrame, 300);
LUMEN_ZARR_BENCH(BM_ZarrReadRange, u8_zstd5_frames_straddling, true, kFrame, 250);
LUMEN_ZARR_BENCH(BM_ZarrReadRange, u8_zstd5_tiles128_aligned, true, kTiles, 300);
LUMEN_ZARR_BENCH(BM_ZarrReadRange, u8_zstd1_noshuffle_256k_aligned, true, kZstd1Plain, 300);
LUMEN_ZARR_BENCH(BM_ZarrReadRange, u16_zstd5_frames_aligned, false, kFrame, 300);

} // namespace

BENCHMARK_MAIN();
