// calib.cosmic_rays cost, reported apart from the tiles benchmark as the issue asks: L.A.Cosmic
// on a 4096x4096 f32 star field in electrons (sky 200 e-, FWHM 2.5 px, 2000 injected 1-3 pixel
// hits, niter 4), images/s on 1 and 2 threads, exact 5x5 medians (separable:0, the default) and
// astroscrappy's separable ones (separable:1). For context, the other per-pixel stages of the
// tile chains on full frames: calib.electrons and image.scale (asinh) on the same 16-megapixel
// frame (f32 and u8 output, and the percentile search alone), image.to8bit {mode: fixed},
// calib.demosaic and image.downsample on Sony A7S II (2848 x 4256, RGGB, factor 2) and Fuji X-T30
// (4032 x 6032, X-Trans, factor 4) sized frames; and image.scale asinh on 512 x 512 frames
// (BM_ScaleAsinhSmall).
//
//   build/bin/bench_cosmic --benchmark_min_time=2
//   build/bin/bench_cosmic --benchmark_filter=Cosmic
#include "cfa.hpp"
#include "cosmic.hpp"
#include "demosaic.hpp"
#include "downsample.hpp"
#include "electrons.hpp"
#include "parallel.hpp"
#include "scale.hpp"
#include "starfield.hpp"
#include "to8bit.hpp"

#include <benchmark/benchmark.h>
#include <cstdint>
#include <random>

namespace {

constexpr std::int64_t kSide = 4096;

// The 4096 x 4096 star field in electrons with injected cosmic-ray hits (made once).
const lumen::Array& sky() {
  static const lumen::Array image = [] {
    lumen::synth::StarfieldSpec spec;
    spec.width = spec.height = kSide;
    spec.seed = 4;
    spec.stars = 4000;
    spec.fwhm_px = 2.5;
    spec.sky_e = 200;
    spec.gain_e_per_adu = 1.0;
    spec.read_noise_e = 5.0;
    spec.bias_adu = 0;
    spec.hot_pixels = 0;
    spec.dtype = lumen::DType::f32;
    lumen::Array a = lumen::synth::make_starfield(spec, 0);
    auto v = a.writable<float>();
    std::mt19937_64 rng(9);
    std::uniform_int_distribution<std::int64_t> pos(2, kSide - 4);
    std::uniform_int_distribution<int> len(1, 3);
    std::uniform_real_distribution<float> amp(300, 3000);
    for (int hit = 0; hit < 2000; ++hit) {
      const std::int64_t y = pos(rng), x = pos(rng);
      for (int k = 0, n = len(rng); k < n; ++k) v.at(y, x + k) += amp(rng);
    }
    return a;
  }();
  return image;
}

void per_image(benchmark::State& state, std::int64_t pixels, std::int64_t bytes_per_pixel) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * pixels * bytes_per_pixel);
}

void BM_CosmicRays(benchmark::State& state) {
  const lumen::Array& image = sky();
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::calib::CosmicOptions o;
  o.read_noise = 5.0;
  o.separable_median = state.range(1) == 1;
  lumen::calib::CosmicResult r;
  for (auto _ : state) {
    r = lumen::calib::detect_cosmics(image, o, pool.get());
    benchmark::DoNotOptimize(r.count);
  }
  per_image(state, kSide * kSide, 4);
  state.counters["flagged_px"] = static_cast<double>(r.count);
  state.counters["iterations"] = r.iterations;
  state.counters["tiles_run"] = static_cast<double>(r.tiles_run);
}
BENCHMARK(BM_CosmicRays)
    ->ArgsProduct({{1, 2}, {0, 1}})
    ->ArgNames({"threads", "separable"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Electrons(benchmark::State& state) {
  const lumen::Array& image = sky();
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::calib::ElectronsSpec spec;
  spec.gain = 1.5;
  spec.black = {100};
  for (auto _ : state) {
    state.PauseTiming(); // the stage gets the reader's frame and converts it in place
    lumen::Array frame = image.clone();
    state.ResumeTiming();
    benchmark::DoNotOptimize(lumen::calib::to_electrons(std::move(frame), spec, pool.get()));
  }
  per_image(state, kSide * kSide, 4);
}
BENCHMARK(BM_Electrons)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ScaleAsinh(benchmark::State& state) {
  const lumen::Array& image = sky();
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::image::ScaleOptions o;
  o.mode = lumen::image::ScaleMode::asinh;
  o.low_percentile = 0.5;
  o.high_percentile = 99.9;
  for (auto _ : state) {
    state.PauseTiming(); // the stage gets calib.electrons' frame and maps it in place
    lumen::Array frame = image.clone();
    state.ResumeTiming();
    benchmark::DoNotOptimize(lumen::image::scale01(std::move(frame), o, nullptr, pool.get()));
  }
  per_image(state, kSide * kSide, 4);
}
BENCHMARK(BM_ScaleAsinh)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

// image.scale {asinh, output: u8}: the same mapping quantised in the same pass (no f32 frame out).
void BM_ScaleAsinhU8(benchmark::State& state) {
  const lumen::Array& image = sky();
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::image::ScaleOptions o;
  o.mode = lumen::image::ScaleMode::asinh;
  o.low_percentile = 0.5;
  o.high_percentile = 99.9;
  o.output = lumen::DType::u8;
  for (auto _ : state) {
    state.PauseTiming(); // as BM_ScaleAsinh: the frame calib.electrons just wrote
    lumen::Array frame = image.clone();
    state.ResumeTiming();
    benchmark::DoNotOptimize(lumen::image::scale01(std::move(frame), o, nullptr, pool.get()));
  }
  per_image(state, kSide * kSide, 4);
}
BENCHMARK(BM_ScaleAsinhU8)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

// image.scale asinh on a stream of small frames (512 x 512, a crop-sized star field like the
// 200-file tiles benchmark), f32 and u8 output, relative softening 0.1 (the default: a 4096-interval
// table) and 1e-4 (2^20 intervals by the error bound: more than the frame has pixels, so asinh is
// evaluated per pixel). One ScaleScratch across frames, as the stage keeps one per worker.
void BM_ScaleAsinhSmall(benchmark::State& state) {
  static const lumen::Array image = [] {
    lumen::synth::StarfieldSpec spec;
    spec.width = spec.height = 512;
    spec.seed = 5;
    spec.stars = 60;
    spec.fwhm_px = 2.5;
    spec.sky_e = 200;
    spec.gain_e_per_adu = 1.0;
    spec.read_noise_e = 5.0;
    spec.bias_adu = 0;
    spec.hot_pixels = 0;
    spec.dtype = lumen::DType::f32;
    return lumen::synth::make_starfield(spec, 0);
  }();
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::image::ScaleOptions o;
  o.mode = lumen::image::ScaleMode::asinh;
  o.low_percentile = 0.5;
  o.high_percentile = 99.9;
  o.softening = state.range(1) == 0 ? 0.1 : 1e-4;
  o.output = state.range(2) == 1 ? lumen::DType::u8 : lumen::DType::f32;
  lumen::image::ScaleScratch scratch;
  for (auto _ : state) {
    state.PauseTiming();
    lumen::Array frame = image.clone();
    state.ResumeTiming();
    benchmark::DoNotOptimize(lumen::image::scale01(std::move(frame), o, nullptr, pool.get(), &scratch));
  }
  per_image(state, 512 * 512, 4);
}
BENCHMARK(BM_ScaleAsinhSmall)
    ->ArgsProduct({{1, 2}, {0, 1}, {0, 1}})
    ->ArgNames({"threads", "soft1e-4", "u8"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The range search alone (sampled 0.5 / 99.9 percentiles of the 16-megapixel frame).
void BM_Percentiles(benchmark::State& state) {
  const lumen::Array& image = sky();
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::image::StretchOptions o;
  o.low_percentile = 0.5;
  o.high_percentile = 99.9;
  for (auto _ : state) benchmark::DoNotOptimize(lumen::image::find_ranges(image, o, pool.get()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Percentiles)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_To8BitFixed(benchmark::State& state) {
  const auto pool = lumen::image::make_row_pool(static_cast<int>(state.range(0)));
  lumen::image::ScaleOptions o;
  o.mode = lumen::image::ScaleMode::asinh;
  const lumen::Array scaled = lumen::image::scale01(sky(), o);
  for (auto _ : state)
    benchmark::DoNotOptimize(lumen::image::apply_ranges(scaled, {lumen::image::Range{0.0, 1.0}}, pool.get()));
  per_image(state, kSide * kSide, 4);
}
BENCHMARK(BM_To8BitFixed)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

lumen::Array mosaic(std::int64_t h, std::int64_t w) {
  lumen::Array a(lumen::DType::u16, lumen::Shape{h, w});
  auto v = a.writable<std::uint16_t>();
  for (std::int64_t i = 0; i < a.size(); ++i) v.data()[i] = static_cast<std::uint16_t>(512 + (i * 7919) % 3000);
  return a;
}

void BM_Demosaic(benchmark::State& state) {
  const bool fuji = state.range(0) == 1;
  const std::int64_t h = fuji ? 4032 : 2848, w = fuji ? 6032 : 4256;
  const lumen::Array m = mosaic(h, w);
  const auto cfa = lumen::raw::parse_cfa(fuji ? "XTRANS" : "RGGB");
  const auto pool = lumen::image::make_row_pool(2);
  for (auto _ : state) benchmark::DoNotOptimize(lumen::calib::demosaic_bilinear(m, cfa, pool.get()));
  per_image(state, h * w, 2);
  state.SetLabel(fuji ? "Fuji X-Trans 4032x6032, 2 threads" : "Sony RGGB 2848x4256, 2 threads");
}
BENCHMARK(BM_Demosaic)->Arg(0)->Arg(1)->ArgName("fuji")->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Downsample(benchmark::State& state) {
  const bool fuji = state.range(0) == 1;
  const std::int64_t h = fuji ? 4032 : 2848, w = fuji ? 6032 : 4256;
  const int factor = fuji ? 4 : 2;
  lumen::Array rgb(lumen::DType::f32, lumen::Shape{h, w, 3});
  auto v = rgb.writable<float>();
  for (std::int64_t i = 0; i < rgb.size(); ++i) v.data()[i] = static_cast<float>((i * 7919) % 1000);
  const auto pool = lumen::image::make_row_pool(2);
  for (auto _ : state) benchmark::DoNotOptimize(lumen::image::downsample(rgb, factor, pool.get()));
  per_image(state, h * w * 3, 4);
  state.SetLabel(fuji ? "Fuji RGB 4032x6032 / 4, 2 threads" : "Sony RGB 2848x4256 / 2, 2 threads");
}
BENCHMARK(BM_Downsample)->Arg(0)->Arg(1)->ArgName("fuji")->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
