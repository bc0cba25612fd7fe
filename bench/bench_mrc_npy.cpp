// Read and write throughput of the hand-written MRC and .npy parsers for a 1024x1024x64 float32
// stack (256 MiB) in the page cache: whole files, frame ranges (mrc.read frames_per_item) and
// the big-endian swap path. Writes go through lumen::AtomicFile as the stages do.
//
//   build/bin/bench_mrc_npy --benchmark_min_time=1
#include "lumen/atomic_file.hpp"
#include "mrc_io.hpp"
#include "npy_io.hpp"

#include <benchmark/benchmark.h>
#include <cstdint>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kFrames = 64, kSide = 1024;

const lumen::Array& stack() {
  static const lumen::Array a = [] {
    lumen::Array s = lumen::Array::uninitialized(lumen::DType::f32, lumen::Shape{kFrames, kSide, kSide});
    std::mt19937 rng(1);
    std::normal_distribution<float> noise(100.0f, 10.0f);
    for (float& v : s.writable<float>()) v = noise(rng);
    return s;
  }();
  return a;
}

const fs::path& dir() {
  static const fs::path d = [] {
    auto p = fs::temp_directory_path() / ("lumen-bench-mrcnpy-" + std::to_string(::getpid()));
    fs::create_directories(p);
    return p;
  }();
  return d;
}

void write_mrc_file(const fs::path& target, const lumen::Array& a) {
  lumen::AtomicFile f(target);
  lumen::mrc::write_mrc([&f](const void* p, std::size_t n) { f.write(p, n); }, a, {}, target.string());
  f.commit();
}

void write_npy_file(const fs::path& target, const lumen::Array& a) {
  lumen::AtomicFile f(target);
  lumen::npy::write_npy([&f](const void* p, std::size_t n) { f.write(p, n); }, a, target.string());
  f.commit();
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(stack().nbytes()));
}

void BM_MrcWrite(benchmark::State& state) {
  // The stack is made once, outside the timing.
  (void)stack();
  for (auto _ : state) write_mrc_file(dir() / "w.mrc", stack()); // header statistics included
  set_bytes(state);
}
BENCHMARK(BM_MrcWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MrcRead(benchmark::State& state) {
  write_mrc_file(dir() / "r.mrc", stack());
  for (auto _ : state) {
    const lumen::FileSource src(dir() / "r.mrc");
    const auto h = lumen::mrc::read_header(src);
    auto a = lumen::mrc::read_sections(src, h, 0, h.nz);
    benchmark::DoNotOptimize(a.raw());
  }
  set_bytes(state);
}
BENCHMARK(BM_MrcRead)->Unit(benchmark::kMillisecond)->UseRealTime();

// frames_per_item = 8: eight range reads per file, as mrc.read does for a streamed stack.
void BM_MrcReadRanges8(benchmark::State& state) {
  write_mrc_file(dir() / "r.mrc", stack());
  for (auto _ : state) {
    const lumen::FileSource src(dir() / "r.mrc");
    const auto h = lumen::mrc::read_header(src);
    for (std::int64_t z = 0; z < h.nz; z += 8) {
      auto a = lumen::mrc::read_sections(src, h, z, z + 8);
      benchmark::DoNotOptimize(a.raw());
    }
  }
  set_bytes(state);
}
BENCHMARK(BM_MrcReadRanges8)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NpyWrite(benchmark::State& state) {
  (void)stack();
  for (auto _ : state) write_npy_file(dir() / "w.npy", stack());
  set_bytes(state);
}
BENCHMARK(BM_NpyWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NpyRead(benchmark::State& state) {
  write_npy_file(dir() / "r.npy", stack());
  for (auto _ : state) {
    const lumen::FileSource src(dir() / "r.npy");
    auto a = lumen::npy::read_data(src, lumen::npy::read_header(src));
    benchmark::DoNotOptimize(a.raw());
  }
  set_bytes(state);
}
BENCHMARK(BM_NpyRead)->Unit(benchmark::kMillisecond)->UseRealTime();

// A big-endian ('>f4') file: read plus an in-place byte swap.
void BM_NpyReadBigEndian(benchmark::State& state) {
  write_npy_file(dir() / "be.npy", stack());
  {
    // Rewrite as big-endian: same header length ('<f4' -> '>f4'), every sample swapped.
    lumen::FileSource src(dir() / "be.npy");
    const auto h = lumen::npy::read_header(src);
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(src.size()));
    src.read(0, bytes.data(), bytes.size());
    for (std::size_t i = 0; i + 4 < h.data_offset; ++i)
      if (bytes[i] == '<' && bytes[i + 1] == 'f' && bytes[i + 2] == '4') bytes[i] = '>';
    for (std::size_t i = h.data_offset; i + 4 <= bytes.size(); i += 4) {
      std::swap(bytes[i], bytes[i + 3]);
      std::swap(bytes[i + 1], bytes[i + 2]);
    }
    lumen::AtomicFile f(dir() / "be.npy");
    f.write(bytes.data(), bytes.size());
    f.commit();
  }
  for (auto _ : state) {
    const lumen::FileSource src(dir() / "be.npy");
    auto a = lumen::npy::read_data(src, lumen::npy::read_header(src));
    benchmark::DoNotOptimize(a.raw());
  }
  set_bytes(state);
}
BENCHMARK(BM_NpyReadBigEndian)->Unit(benchmark::kMillisecond)->UseRealTime();

struct Cleanup {
  ~Cleanup() {
    std::error_code ec;
    fs::remove_all(dir(), ec);
  }
} cleanup;

} // namespace

BENCHMARK_MAIN();
