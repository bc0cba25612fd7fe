// Unit tests for the `image` set: to8bit mapping end points, percentiles on known data,
// sampling of large images, constant images, NaN and infinity handling, per-channel ranges,
// and the image.to8bit stage driven directly; image.downsample geometry (Sony, Fuji) and
// frequency response; image.scale ranges (minmax, percentile, asinh by hand, the fallback) and
// its u8 output (equal to f32 then to8bit fixed 0..1).
//
// Run: build/bin/test_image   (or ctest -R image)
// The stage under test is used in pipelines like:
//   - id: stretch
//     use: image.to8bit
//     with: {mode: minmax}
#include "downsample.hpp"
#include "image_stages.hpp"
#include "lumen/testing.hpp"
#include "parallel.hpp"
#include "scale.hpp"
#include "to8bit.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using TestContext = lumen::testing::Context;
using Collect = lumen::testing::Collect;

using lumen::image::Range;
using lumen::image::StretchMode;
using lumen::image::StretchOptions;

template <typename T> lumen::Array make(const lumen::Shape& shape, const std::vector<T>& values) {
  lumen::Array a(lumen::dtype_of_v<T>, shape);
  auto v = a.writable<T>();
  std::copy(values.begin(), values.end(), v.data());
  return a;
}

std::vector<int> u8_values(const lumen::Array& a) {
  std::vector<int> out;
  for (const auto v : a.view<std::uint8_t>()) out.push_back(v);
  return out;
}

StretchOptions minmax() {
  StretchOptions o;
  o.mode = StretchMode::minmax;
  return o;
}

} // namespace

TEST_CASE("minmax maps the smallest value to 0 and the largest to 255", "[image][to8bit]") {
  const auto a = make<float>({1, 5}, {10.f, 20.f, 30.f, 40.f, 50.f});
  std::vector<Range> used;
  const auto out = lumen::image::to8bit(a, minmax(), &used);
  REQUIRE(out.dtype() == lumen::DType::u8);
  REQUIRE(out.shape() == lumen::Shape{1, 5});
  CHECK(u8_values(out) == std::vector<int>{0, 64, 128, 191, 255}); // 63.75, 127.5, 191.25 rounded
  REQUIRE(used.size() == 1);
  CHECK(used[0].low == 10.0);
  CHECK(used[0].high == 50.0);
}

TEST_CASE("values outside the range clip to 0 and 255", "[image][to8bit]") {
  const auto a = make<double>({1, 4}, {-100.0, 0.0, 1.0, 1000.0});
  const auto out = lumen::image::apply_ranges(a, {Range{0.0, 1.0}});
  CHECK(u8_values(out) == std::vector<int>{0, 0, 255, 255});
}

TEST_CASE("percentiles interpolate between order statistics", "[image][to8bit]") {
  std::vector<double> v(101);
  std::iota(v.begin(), v.end(), 0.0); // 0..100
  std::shuffle(v.begin(), v.end(), std::mt19937(4));
  CHECK(lumen::image::percentile(v, 0) == 0.0);
  CHECK(lumen::image::percentile(v, 100) == 100.0);
  CHECK(lumen::image::percentile(v, 50) == 50.0);
  CHECK(lumen::image::percentile(v, 12.5) == Approx(12.5));

  std::vector<double> w = {4, 1, 3, 2}; // sorted 1 2 3 4; numpy: p25 -> 1.75, p50 -> 2.5
  CHECK(lumen::image::percentile(w, 25) == Approx(1.75));
  CHECK(lumen::image::percentile(w, 50) == Approx(2.5));
  CHECK(lumen::image::percentile(w, 99.5) == Approx(3.985));

  std::vector<double> empty;
  CHECK(std::isnan(lumen::image::percentile(empty, 50)));
}

TEST_CASE("percentile mode uses the requested percentiles of the image", "[image][to8bit]") {
  std::vector<std::uint16_t> values(1000);
  std::iota(values.begin(), values.end(), std::uint16_t{0}); // 0..999
  const auto a = make<std::uint16_t>({10, 100}, values);
  StretchOptions o;
  o.low_percentile = 10;
  o.high_percentile = 90;
  const auto ranges = lumen::image::find_ranges(a, o);
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0].low == Approx(99.9));
  CHECK(ranges[0].high == Approx(899.1));
  const auto out = lumen::image::apply_ranges(a, ranges);
  const auto v = out.view<std::uint8_t>();
  CHECK(v.at(0, 0) == 0);
  CHECK(v.at(9, 99) == 255);
  CHECK(v.at(5, 0) == 128); // 500 is just above the middle, 499.5
}

TEST_CASE("large images are sampled at a stride that avoids mosaic and channel periods", "[image][to8bit]") {
  using lumen::image::sample_stride;
  CHECK(sample_stride(1000, 1) == 1);
  CHECK(sample_stride(lumen::image::kMaxPercentileSamples, 3) == 1);
  const std::size_t s = sample_stride(4 * lumen::image::kMaxPercentileSamples, 3);
  CHECK(s >= 4);
  CHECK(std::gcd(s, std::size_t{6}) == 1);
  CHECK(std::gcd(sample_stride(16 * lumen::image::kMaxPercentileSamples, 4), std::size_t{2}) == 1);

  // A 2048 x 1024 checkerboard of 0 and 1000 (period 2 like a Bayer mosaic): an even stride
  // would see one value only; the sampled median must see both.
  const std::int64_t h = 1024, w = 2048;
  lumen::Array a(lumen::DType::f32, lumen::Shape{h, w});
  auto v = a.writable<float>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) v.at(y, x) = ((x + y) & 1) ? 1000.f : 0.f;
  StretchOptions o;
  o.low_percentile = 1;
  o.high_percentile = 99;
  const auto r = lumen::image::find_ranges(a, o);
  CHECK(r[0].low == 0.0);
  CHECK(r[0].high == 1000.0);
}

TEST_CASE("ranges found with a pool equal those found on one thread", "[image][to8bit]") {
  lumen::Array a(lumen::DType::f32, lumen::Shape{1500, 1100}); // above 2^20 values: sampled
  auto v = a.writable<float>();
  for (std::int64_t i = 0; i < a.size(); ++i)
    v.data()[i] = i % 997 == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>((i * 7919) % 100003);
  const auto pool = lumen::image::make_row_pool(2);
  for (const double lo : {0.5, 1.0, 30.0})
    for (const double hi : {99.0, 99.9}) {
      StretchOptions o;
      o.low_percentile = lo;
      o.high_percentile = hi;
      const auto one = lumen::image::find_ranges(a, o);
      const auto two = lumen::image::find_ranges(a, o, pool.get());
      CHECK(one[0].low == two[0].low);
      CHECK(one[0].high == two[0].high);
      CHECK(one[0].low < one[0].high);
    }
}

TEST_CASE("a constant image maps to 0 without dividing by zero", "[image][to8bit]") {
  const auto a = make<float>({2, 2}, {7.f, 7.f, 7.f, 7.f});
  for (const auto mode : {StretchMode::minmax, StretchMode::percentile}) {
    StretchOptions o;
    o.mode = mode;
    std::vector<Range> used;
    const auto out = lumen::image::to8bit(a, o, &used);
    CHECK(u8_values(out) == std::vector<int>{0, 0, 0, 0});
    CHECK(used[0].low == 7.0);
    CHECK(used[0].high == 7.0);
  }
}

TEST_CASE("NaN becomes 0 and non-finite values do not set the range", "[image][to8bit]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const auto a = make<float>({1, 6}, {nan, 0.f, 10.f, inf, -inf, 5.f});
  std::vector<Range> used;
  const auto out = lumen::image::to8bit(a, minmax(), &used);
  CHECK(used[0].low == 0.0);
  CHECK(used[0].high == 10.0);
  CHECK(u8_values(out) == std::vector<int>{0, 0, 255, 255, 0, 128});

  const auto all_nan = make<double>({1, 2}, {std::nan(""), std::nan("")});
  CHECK(u8_values(lumen::image::to8bit(all_nan, StretchOptions{})) == std::vector<int>{0, 0});
}

TEST_CASE("per-channel ranges stretch each channel on its own", "[image][to8bit]") {
  // Two RGB pixels: R in 0..10, G in 100..200, B constant 5.
  const auto a = make<std::int32_t>({1, 2, 3}, {0, 100, 5, 10, 200, 5});
  StretchOptions o = minmax();
  o.per_channel = true;
  std::vector<Range> used;
  const auto out = lumen::image::to8bit(a, o, &used);
  REQUIRE(used.size() == 3);
  CHECK(used[1].low == 100.0);
  CHECK(used[1].high == 200.0);
  CHECK(u8_values(out) == std::vector<int>{0, 0, 0, 255, 255, 0});

  o.per_channel = false; // one range 0..200 for all values
  CHECK(u8_values(lumen::image::to8bit(a, o)) == std::vector<int>{0, 128, 6, 13, 255, 6});
  CHECK_THROWS_AS(lumen::image::apply_ranges(make<float>({1, 2}, {0.f, 1.f}), {Range{}, Range{}}), lumen::Error);
}

TEST_CASE("strided views are stretched like their contiguous copies", "[image][to8bit]") {
  lumen::Array a(lumen::DType::u16, lumen::Shape{8, 8});
  auto v = a.writable<std::uint16_t>();
  for (std::int64_t i = 0; i < 64; ++i) v.data()[i] = static_cast<std::uint16_t>(i * 100);
  const lumen::Array crop = a.crop(2, 2, 3, 4);
  const auto out = lumen::image::to8bit(crop, minmax());
  REQUIRE(out.shape() == lumen::Shape{3, 4});
  const auto o = out.view<std::uint8_t>();
  CHECK(o.at(0, 0) == 0);
  CHECK(o.at(2, 3) == 255);
}

TEST_CASE("image.to8bit sets the image, the range meta and units", "[image][stage]") {
  lumen::image::To8Bit stage;
  stage.validate();
  lumen::Item item("frame");
  std::vector<float> values(100);
  std::iota(values.begin(), values.end(), 0.f);
  item.set("image", make<float>({10, 10}, values));
  item.meta.set("units", "adu");
  Collect out;
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  const lumen::Item& got = out.items[0];
  CHECK(got.array("image").dtype() == lumen::DType::u8);
  CHECK(got.meta.get_string("units") == "normalized");
  CHECK(got.meta.get_number("to8bit_low") == Approx(0.495));
  CHECK(got.meta.get_number("to8bit_high") == Approx(98.505));

  stage.per_channel.assign(lumen::ParamValue{true});
  lumen::Item rgb("rgb");
  rgb.set("image", make<std::uint8_t>({1, 2, 3}, {0, 1, 2, 3, 4, 5}));
  stage.process(rgb, out);
  REQUIRE(out.items.size() == 2);
  CHECK(out.items[1].meta.get_list("to8bit_low").value().size() == 3);
}

TEST_CASE("image.to8bit refuses low_percentile >= high_percentile", "[image][stage]") {
  lumen::image::To8Bit stage;
  stage.low_percentile.assign(lumen::ParamValue{50.0});
  stage.high_percentile.assign(lumen::ParamValue{50.0});
  try {
    stage.validate();
    FAIL("no error");
  } catch (const lumen::ConfigError& e) {
    CHECK(e.param() == "high_percentile");
    CHECK(std::string(e.what()).find("(50)") != std::string::npos);
  }
}

TEST_CASE("image.to8bit fails an item without an image", "[image][stage]") {
  lumen::image::To8Bit stage;
  lumen::Item item("empty");
  Collect out;
  CHECK_THROWS_AS(stage.process(item, out), lumen::InputError);
}

TEST_CASE("the vectorised mapping equals the documented rule, also at half-way points and with threads",
          "[image][to8bit]") {
  std::vector<float> v;
  for (int k = 0; k <= 255; ++k) v.push_back((static_cast<float>(k) + 0.5f) / 255.f); // near half-way points
  for (int k = 0; k < 5000; ++k) v.push_back(static_cast<float>((k * 7919) % 10007) / 9000.f - 0.05f);
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  v.push_back(std::numeric_limits<float>::infinity());
  v.push_back(-std::numeric_limits<float>::infinity());
  const auto a = make<float>({1, static_cast<std::int64_t>(v.size())}, v);
  const auto pool = lumen::image::make_row_pool(2);
  for (const Range r : {Range{0.0, 1.0}, Range{0.1, 0.85}, Range{-0.25, 0.25}}) {
    const auto got = u8_values(lumen::image::apply_ranges(a, {r}, pool.get()));
    for (std::size_t i = 0; i < v.size(); ++i) {
      int want = 0;
      if (!std::isnan(v[i])) {
        const double t = (static_cast<double>(v[i]) - r.low) * 255.0 / (r.high - r.low);
        want = t <= 0 ? 0 : t >= 255 ? 255 : static_cast<int>(t + 0.5);
      }
      REQUIRE(got[i] == want);
    }
  }
}

TEST_CASE("image.to8bit mode fixed maps low..high to 0..255 for every image", "[image][stage]") {
  lumen::image::To8Bit stage;
  stage.mode.assign(lumen::ParamValue{std::string("fixed")});
  stage.validate();
  lumen::Item item("scaled");
  item.set("image", make<float>({1, 5}, {-0.5f, 0.f, 0.5f, 1.f, 2.f}));
  Collect out;
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  CHECK(u8_values(out.items[0].array("image")) == std::vector<int>{0, 0, 128, 255, 255});
  CHECK(out.items[0].meta.get_number("to8bit_low") == 0.0);
  CHECK(out.items[0].meta.get_number("to8bit_high") == 1.0);

  stage.low.assign(lumen::ParamValue{2.0});
  try {
    stage.validate();
    FAIL("no error");
  } catch (const lumen::ConfigError& e) {
    CHECK(e.param() == "high");
    CHECK(std::string(e.what()).find("low 2 and high 1") != std::string::npos);
  }
}

// ---- image.downsample ----------------------------------------------------------------------------

namespace {

// An (h, w) f32 image of a cosine along x with `cycles` per pixel, amplitude 1.
lumen::Array cosine_x(std::int64_t h, std::int64_t w, double cycles) {
  lumen::Array a(lumen::DType::f32, lumen::Shape{h, w});
  auto v = a.writable<float>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      v.at(y, x) = static_cast<float>(std::cos(2 * std::numbers::pi * cycles * static_cast<double>(x) + 0.3));
  return a;
}

// Amplitude of the (aliased) sinusoid left in the interior, from its RMS: sqrt(2 mean(v^2)) over
// rows [margin, h - margin) and `len` columns from `margin` (len: whole periods of the output
// frequency, so the estimate is exact for any phase).
double interior_amplitude(const lumen::Array& a, std::int64_t margin, std::int64_t len) {
  const auto v = a.view<float>();
  double sum = 0;
  std::int64_t n = 0;
  for (std::int64_t y = margin; y < a.dim(0) - margin; ++y)
    for (std::int64_t x = margin; x < margin + len; ++x, ++n) sum += double(v.at(y, x)) * double(v.at(y, x));
  return n ? std::sqrt(2 * sum / double(n)) : 0.0;
}

} // namespace

TEST_CASE("downsampling keeps the Sony and Fuji geometries of the issue", "[image][downsample]") {
  const auto sony =
      lumen::image::downsample(lumen::Array(lumen::DType::u16, lumen::Shape{2848, 4256, 3}).slice(0, 8), 2);
  CHECK(sony.shape() == lumen::Shape{4, 2128, 3}); // 8 rows of the frame: a cheap check of the width
  const auto full_sony = lumen::image::downsample(lumen::Array(lumen::DType::u8, lumen::Shape{2848, 4256}), 2);
  CHECK(full_sony.shape() == lumen::Shape{1424, 2128});
  const auto fuji = lumen::image::downsample(lumen::Array(lumen::DType::u8, lumen::Shape{4032, 6032}), 4);
  CHECK(fuji.shape() == lumen::Shape{1008, 1508});
  CHECK(fuji.dtype() == lumen::DType::f32);
  CHECK(lumen::image::downsample(lumen::Array(lumen::DType::f32, lumen::Shape{9, 11}), 4).shape() ==
        lumen::Shape{2, 2});
}

TEST_CASE("the Lanczos-3 taps are normalised and symmetric about the block centre", "[image][downsample]") {
  for (const int f : {1, 2, 3, 4, 5}) {
    const auto t = lumen::image::lanczos_taps(f);
    double sum = 0;
    for (const float w : t.weights) sum += w;
    CHECK(sum == Approx(1.0).epsilon(1e-6));
    const std::size_t n = t.weights.size();
    for (std::size_t k = 0; k < n / 2; ++k) CHECK(t.weights[k] == Approx(t.weights[n - 1 - k]).margin(1e-7));
    // Block centre: output 0 is centred at (f - 1) / 2.
    double centre = 0;
    for (std::size_t k = 0; k < n; ++k) centre += t.weights[k] * static_cast<double>(t.offset + std::int64_t(k));
    CHECK(centre == Approx(0.5 * f - 0.5).margin(1e-5));
  }
  CHECK(lumen::image::mirror_index(-1, 5) == 1);
  CHECK(lumen::image::mirror_index(-2, 5) == 2);
  CHECK(lumen::image::mirror_index(5, 5) == 3);
  CHECK(lumen::image::mirror_index(9, 5) == 1);
  CHECK(lumen::image::mirror_index(-7, 5) == 1);
  CHECK(lumen::image::mirror_index(3, 1) == 0);
}

TEST_CASE("downsampling suppresses a sinusoid above the new Nyquist and passes one below", "[image][downsample]") {
  for (const int f : {2, 4}) {
    const double nyquist = 0.5 / f; // cycles per input pixel after downsampling
    const std::int64_t w = 1024, margin = 8;
    // 1.5 x the new Nyquist would alias to 0.5 x Nyquist: it must be (nearly) gone.
    const std::int64_t len = (w / f - 2 * margin) / 20 * 20; // whole periods of 4 and 2.5 output pixels
    const double above = interior_amplitude(lumen::image::downsample(cosine_x(128, w, 1.5 * nyquist), f), margin, len);
    CHECK(above < 0.05);
    CHECK(above > 0.0); // the interior is not empty: some residue remains
    // 0.5 x the new Nyquist passes.
    const double below = interior_amplitude(lumen::image::downsample(cosine_x(128, w, 0.5 * nyquist), f), margin, len);
    CHECK(below > 0.9);
    CHECK(below < 1.02);
    // Pixel skipping would keep 1.5 x Nyquist at full amplitude, and a block mean at 1.2 x
    // Nyquist keeps about half of it: the reason for the windowed sinc.
    const double nu = 1.2 * nyquist;
    double box = std::abs(std::sin(std::numbers::pi * f * nu) / (f * std::sin(std::numbers::pi * nu)));
    CHECK(box > 0.4);
    const double lanczos = interior_amplitude(lumen::image::downsample(cosine_x(128, w, nu), f), margin, len);
    CHECK(lanczos < 0.25);
  }
  // Vertical too: the transposed pattern.
  lumen::Array a(lumen::DType::f32, lumen::Shape{512, 16});
  auto v = a.writable<float>();
  for (std::int64_t y = 0; y < 512; ++y)
    for (std::int64_t x = 0; x < 16; ++x)
      v.at(y, x) = static_cast<float>(std::cos(2 * std::numbers::pi * 0.375 * double(y)));
  const auto vertical = lumen::image::downsample(a, 2); // (256, 8): rows carry the pattern
  double peak = 0;
  for (std::int64_t y = 8; y < 248; ++y) peak = std::max(peak, std::abs(double(vertical.view<float>().at(y, 4))));
  CHECK(peak < 0.05);
}

TEST_CASE("downsampling keeps constants, channels apart, and is the same on any thread count", "[image][downsample]") {
  lumen::Array rgb(lumen::DType::f32, lumen::Shape{40, 52, 3});
  auto v = rgb.writable<float>();
  for (std::int64_t i = 0; i < rgb.size(); ++i) v.data()[i] = static_cast<float>(10 * (i % 3 + 1));
  const auto out = lumen::image::downsample(rgb, 4);
  REQUIRE(out.shape() == lumen::Shape{10, 13, 3});
  const auto o = out.view<float>();
  for (std::int64_t i = 0; i < out.size(); ++i) REQUIRE(o.data()[i] == Approx(10 * (i % 3 + 1)).epsilon(1e-6));

  const auto noise = cosine_x(301, 207, 0.37);
  const auto one = lumen::image::downsample(noise, 3);
  const auto pool = lumen::image::make_row_pool(3);
  const auto three = lumen::image::downsample(noise, 3, pool.get());
  REQUIRE(one.shape() == three.shape());
  CHECK(std::equal(one.view<float>().begin(), one.view<float>().end(), three.view<float>().begin()));

  CHECK_THROWS_AS(lumen::image::downsample(lumen::Array(lumen::DType::f32, lumen::Shape{3, 3}), 4), lumen::InputError);
  CHECK_THROWS_AS(lumen::image::downsample(lumen::Array(lumen::DType::f32, lumen::Shape{2, 3, 3, 3}), 2),
                  lumen::InputError);
  CHECK_THROWS_WITH(lumen::image::downsample(lumen::Array(lumen::DType::f32, lumen::Shape{9, 64, 64}), 2),
                    Catch::Contains("stack of frames"));
}

TEST_CASE("image.downsample takes the factor from meta and refuses CFA mosaics", "[image][downsample][stage]") {
  lumen::image::Downsample stage;
  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  Collect out;
  lumen::Item item("photo");
  item.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{16, 24, 3}));
  item.meta.set("downsample_factor", std::int64_t{4});
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].array("image").shape() == lumen::Shape{4, 6, 3});
  CHECK(out.items[0].meta.get_int("downsample_applied") == 4);
  CHECK(out.items[0].meta.get_string("downsample_filter") == "lanczos3");

  lumen::Item bare("bare");
  bare.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{16, 24}));
  try {
    stage.process(bare, out);
    FAIL("no error");
  } catch (const lumen::InputError& e) {
    CHECK(std::string(e.what()).find("no meta downsample_factor") != std::string::npos);
    CHECK(std::string(e.what()).find("set factor") != std::string::npos);
  }
  lumen::Item mosaic("mosaic");
  mosaic.set("image", lumen::Array(lumen::DType::u16, lumen::Shape{16, 24}));
  mosaic.meta.set("cfa", "RGGB");
  mosaic.meta.set("downsample_factor", std::int64_t{2});
  try {
    stage.process(mosaic, out);
    FAIL("no error");
  } catch (const lumen::InputError& e) {
    CHECK(std::string(e.what()).find("calib.demosaic") != std::string::npos);
  }
  lumen::Item odd("odd");
  odd.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{16, 24}));
  odd.meta.set("downsample_factor", 2.5);
  CHECK_THROWS_WITH(stage.process(odd, out), Catch::Contains("whole number"));
}

// ---- image.scale ---------------------------------------------------------------------------------

namespace {

using lumen::image::ScaleMode;
using lumen::image::ScaleOptions;

std::vector<float> f32_values(const lumen::Array& a) {
  const auto v = a.view<float>();
  return {v.begin(), v.end()};
}

} // namespace

TEST_CASE("percentile: the heap path for extreme ranks equals the order statistics of a full sort",
          "[image][to8bit][percentile]") {
  std::mt19937 rng(3);
  for (const std::size_t n : {1u, 2u, 31u, 32u, 33u, 64u, 65u, 1000u, 100003u}) {
    std::vector<double> base(n);
    std::uniform_int_distribution<int> level(0, 300); // many ties
    std::normal_distribution<double> noise(0, 1);
    for (std::size_t i = 0; i < n; ++i) base[i] = i % 3 ? level(rng) : noise(rng);
    std::vector<double> sorted = base;
    std::sort(sorted.begin(), sorted.end());
    for (const double p : {0.0, 0.001, 0.5, 1.0, 3.0, 3.2, 3.125, 50.0, 96.875, 96.9, 97.0, 99.0, 99.9, 99.99, 100.0}) {
      INFO("n " << n << " p " << p);
      const double pos = p / 100.0 * static_cast<double>(n - 1);
      const auto k = static_cast<std::size_t>(std::floor(pos));
      const double frac = pos - static_cast<double>(k);
      const double want = frac == 0.0 || k + 1 >= n ? sorted[k] : sorted[k] + frac * (sorted[k + 1] - sorted[k]);
      std::vector<double> v = base;
      CHECK(lumen::image::percentile(v, p) == want);
    }
  }
}

TEST_CASE("scale minmax and percentile map their ranges linearly onto [0, 1]", "[image][scale]") {
  const auto a = make<std::uint16_t>({1, 5}, {10, 20, 30, 40, 50});
  std::vector<lumen::image::ChannelScale> plan;
  const auto out = lumen::image::scale01(a, ScaleOptions{}, &plan);
  CHECK(out.dtype() == lumen::DType::f32);
  CHECK(f32_values(out) == std::vector<float>{0.f, 0.25f, 0.5f, 0.75f, 1.f});
  CHECK(plan[0].method == "minmax");

  std::vector<float> values(1000);
  std::iota(values.begin(), values.end(), 0.f); // 0..999
  ScaleOptions o;
  o.mode = ScaleMode::percentile; // 1, 99: numpy gives 9.99 and 989.01
  const auto p = lumen::image::scale01(make<float>({10, 100}, values), o, &plan);
  CHECK(plan[0].range.low == Approx(9.99));
  CHECK(plan[0].range.high == Approx(989.01));
  const auto pv = f32_values(p);
  CHECK(pv[0] == 0.f);   // clipped
  CHECK(pv[999] == 1.f); // clipped
  CHECK(pv[500] == Approx((500 - 9.99) / (989.01 - 9.99)).epsilon(1e-6));
}

TEST_CASE("scale asinh matches the formula by hand", "[image][scale]") {
  std::vector<float> values(11);
  std::iota(values.begin(), values.end(), 0.f); // 0..10
  ScaleOptions o;
  o.mode = ScaleMode::asinh;
  o.low_percentile = 0; // low 0, high 10
  o.high_percentile = 100;
  o.softening = 0.1; // relative: s = 1
  std::vector<lumen::image::ChannelScale> plan;
  const auto out = f32_values(lumen::image::scale01(make<float>({1, 11}, values), o, &plan));
  CHECK(plan[0].method == "asinh");
  CHECK(plan[0].softening == Approx(1.0));
  CHECK(plan[0].table_error < 1e-6);
  for (int x = 0; x <= 10; ++x) CHECK(out[std::size_t(x)] == Approx(std::asinh(x) / std::asinh(10.0)).margin(2e-6));

  o.softening_relative = false; // absolute s = 0.25 in data units
  o.softening = 0.25;
  const auto abs_out = f32_values(lumen::image::scale01(make<float>({1, 11}, values), o, &plan));
  CHECK(plan[0].softening == 0.25);
  CHECK(abs_out[3] == Approx(std::asinh(3 / 0.25) / std::asinh(10 / 0.25)).margin(2e-6));

  // Values between table nodes, a wide range and a tiny softening: still within 1e-5.
  std::vector<float> fine(1000);
  for (std::size_t i = 0; i < fine.size(); ++i) fine[i] = static_cast<float>(i) * 7.3137f;
  o.softening = 0.001;
  o.softening_relative = true;
  const auto fine_out = f32_values(lumen::image::scale01(make<float>({1, 1000}, fine), o, &plan));
  const double lo = plan[0].range.low, hi = plan[0].range.high, s = plan[0].softening;
  for (std::size_t i = 0; i < fine.size(); ++i)
    REQUIRE(fine_out[i] ==
            Approx(std::clamp(std::asinh((fine[i] - lo) / s) / std::asinh((hi - lo) / s), 0.0, 1.0)).margin(1e-5));
}

namespace {

// scale01 asinh (f32) against the closed form in double precision, every pixel; NaN stays NaN.
void check_asinh_closed_form(const std::vector<float>& values, std::int64_t h, std::int64_t w, ScaleOptions o,
                             bool want_table, lumen::image::ScaleScratch* scratch = nullptr) {
  o.mode = ScaleMode::asinh;
  std::vector<lumen::image::ChannelScale> plan;
  const auto pool = lumen::image::make_row_pool(2);
  const auto out = f32_values(lumen::image::scale01(make<float>({h, w}, values), o, &plan, pool.get(), scratch));
  REQUIRE(plan[0].method == "asinh");
  if (want_table) {
    CHECK(plan[0].table_error > 0); // a table was built and its error measured
    CHECK(plan[0].table_error <= 1e-6);
  } else {
    CHECK(plan[0].table_error == 0); // evaluated per pixel
  }
  const double lo = plan[0].range.low, hi = plan[0].range.high, s = plan[0].softening;
  // The documented bound, plus the rounding of the result to float (half an ulp of 1: 6e-8).
  const double margin = plan[0].table_error + 6e-8;
  double worst = 0;
  std::size_t nan_seen = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      nan_seen += std::isnan(out[i]) ? 1 : 0;
      continue;
    }
    const double want = std::clamp(std::asinh((values[i] - lo) / s) / std::asinh((hi - lo) / s), 0.0, 1.0);
    worst = std::max(worst, std::abs(static_cast<double>(out[i]) - want));
  }
  INFO("worst " << worst << " margin " << margin);
  CHECK(worst <= margin);
  CHECK(nan_seen ==
        static_cast<std::size_t>(std::count_if(values.begin(), values.end(), [](float v) { return std::isnan(v); })));
}

std::vector<float> sky_values(std::int64_t h, std::int64_t w, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 5.f);
  std::vector<float> v(static_cast<std::size_t>(h * w));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = 200.f + static_cast<float>(i % 1013) * 0.73f + noise(rng);
  for (std::size_t i = 0; i < v.size(); i += 997) v[i] = 3000.f + static_cast<float>(i % 17) * 100.f; // clipped
  for (std::size_t i = 3; i < v.size(); i += 1231) v[i] = std::numeric_limits<float>::quiet_NaN();
  return v;
}

} // namespace

TEST_CASE("scale asinh sizes its table by the image and stays within the documented error", "[image][scale]") {
  ScaleOptions o;
  o.low_percentile = 0.5;
  o.high_percentile = 99.9;
  SECTION("large image, default softening: a 4096-interval table (error measured, <= 1e-6)") {
    check_asinh_closed_form(sky_values(512, 512, 1), 512, 512, o, true);
  }
  SECTION("small image: asinh per pixel (fewer pixels than the table would cost)") {
    check_asinh_closed_form(sky_values(64, 64, 2), 64, 64, o, false);
  }
  SECTION("tiny softening: the 2^20-interval table is skipped for a 512 x 512 image") {
    o.softening = 1e-4;
    check_asinh_closed_form(sky_values(512, 512, 3), 512, 512, o, false);
  }
  SECTION("absolute softening on a large image: a larger table, still within its measured error") {
    o.softening_relative = false;
    o.softening = 2.0; // range ~ 200..970: 2^15 intervals by the bound
    check_asinh_closed_form(sky_values(1024, 1024, 4), 1024, 1024, o, true);
  }
}

TEST_CASE("scale asinh reuses a scratch across images with the same results", "[image][scale]") {
  ScaleOptions o;
  o.mode = ScaleMode::asinh;
  o.low_percentile = 0.5;
  o.high_percentile = 99.9;
  lumen::image::ScaleScratch scratch;
  const auto bits = [](const lumen::Array& x) { // NaN compares equal to NaN this way
    std::vector<std::uint32_t> v;
    for (const float f : x.view<float>()) v.push_back(std::bit_cast<std::uint32_t>(f));
    return v;
  };
  const auto a = make<float>({512, 512}, sky_values(512, 512, 5));
  auto b_values = sky_values(512, 512, 6);
  for (float& v : b_values) v = v * 3.f - 100.f; // another range
  const auto b = make<float>({512, 512}, b_values);
  const auto a_fresh = bits(lumen::image::scale01(a, o));
  const auto b_fresh = bits(lumen::image::scale01(b, o));
  CHECK(bits(lumen::image::scale01(a, o, nullptr, nullptr, &scratch)) == a_fresh);
  REQUIRE(scratch.nodes.size() == 1);
  const double* storage = scratch.nodes[0].data();
  const std::size_t capacity = scratch.nodes[0].capacity();
  CHECK(capacity >= 2 * 4096);
  CHECK(bits(lumen::image::scale01(b, o, nullptr, nullptr, &scratch)) == b_fresh);
  CHECK(scratch.nodes[0].data() == storage); // the same buffer, not a new one
  CHECK(scratch.nodes[0].capacity() == capacity);
  // A small image in between (per pixel) leaves the buffer alone and the next result unchanged.
  (void)lumen::image::scale01(make<float>({8, 8}, sky_values(8, 8, 7)), o, nullptr, nullptr, &scratch);
  CHECK(bits(lumen::image::scale01(a, o, nullptr, nullptr, &scratch)) == a_fresh);
  CHECK(scratch.nodes[0].data() == storage);
}

TEST_CASE("scale asinh falls back to a percentile clip when its range is degenerate", "[image][scale]") {
  std::vector<float> values(1000, 5.f); // 99.4% sky at 5, a few stars
  for (int i = 0; i < 6; ++i) values[std::size_t(i * 150)] = 100.f + i;
  ScaleOptions o;
  o.mode = ScaleMode::asinh; // p1 == p99 == 5
  std::vector<lumen::image::ChannelScale> plan;
  const auto out = f32_values(lumen::image::scale01(make<float>({10, 100}, values), o, &plan));
  CHECK(plan[0].method == "percentile");
  CHECK(plan[0].fallback.find("degenerate") != std::string::npos);
  CHECK(plan[0].range.low == 5.0); // fallback 0..100: min..max
  CHECK(plan[0].range.high == 105.0);
  CHECK(out[0] == 1.0f - 5.f / 100.f);
  CHECK(out[1] == 0.f);

  const auto flat = f32_values(lumen::image::scale01(make<float>({1, 3}, {2.f, 2.f, 2.f}), o, &plan));
  CHECK(flat == std::vector<float>{0.f, 0.f, 0.f});
}

TEST_CASE("scale keeps NaN, per-channel ranges, and threads do not change the result", "[image][scale]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const auto out = f32_values(lumen::image::scale01(make<float>({1, 3}, {nan, 0.f, 2.f}), ScaleOptions{}));
  CHECK(std::isnan(out[0]));
  CHECK(out[2] == 1.f);

  ScaleOptions o;
  o.per_channel = true;
  std::vector<lumen::image::ChannelScale> plan;
  const auto rgb = f32_values(lumen::image::scale01(make<float>({1, 2, 3}, {0, 100, 5, 10, 200, 7}), o, &plan));
  REQUIRE(plan.size() == 3);
  CHECK(rgb == std::vector<float>{0.f, 0.f, 0.f, 1.f, 1.f, 1.f});

  lumen::Array big(lumen::DType::f32, lumen::Shape{700, 300});
  auto v = big.writable<float>();
  for (std::int64_t i = 0; i < big.size(); ++i) v.data()[i] = static_cast<float>((i * 7919) % 10007);
  o.mode = ScaleMode::asinh;
  o.per_channel = false;
  const auto pool = lumen::image::make_row_pool(2);
  const auto a1 = lumen::image::scale01(big, o);
  const auto a2 = lumen::image::scale01(big, o, nullptr, pool.get());
  CHECK(std::equal(a1.view<float>().begin(), a1.view<float>().end(), a2.view<float>().begin()));
}

TEST_CASE("scale works in place on an f32 image no one else holds, never on a shared one", "[image][scale]") {
  lumen::Array a = make<float>({1, 3}, {0.f, 5.f, 10.f});
  const lumen::Array other = a;
  const auto out = lumen::image::scale01(a, ScaleOptions{});
  CHECK(f32_values(out) == std::vector<float>{0.f, 0.5f, 1.f});
  CHECK(f32_values(other) == std::vector<float>{0.f, 5.f, 10.f});
  lumen::Array alone = make<float>({1, 3}, {0.f, 5.f, 10.f});
  const void* storage = alone.raw();
  const auto in_place = lumen::image::scale01(std::move(alone), ScaleOptions{});
  CHECK(in_place.raw() == storage);
  CHECK(f32_values(in_place) == std::vector<float>{0.f, 0.5f, 1.f});
}

TEST_CASE("scale asinh in place keeps NaN as NaN", "[image][scale]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  ScaleOptions o;
  o.mode = ScaleMode::asinh;
  o.low_percentile = 0;
  o.high_percentile = 100;
  lumen::Array alone = make<float>({1, 5}, {nan, 0.f, 5.f, nan, 10.f});
  const void* storage = alone.raw();
  const auto out = lumen::image::scale01(std::move(alone), o);
  REQUIRE(out.raw() == storage); // the in-place path (it used to read back its own output)
  const auto v = f32_values(out);
  CHECK(std::isnan(v[0]));
  CHECK(std::isnan(v[3]));
  CHECK(v[1] == 0.f);
  CHECK(v[4] == 1.f);
}

namespace {

// scale01 with output u8 against scale01 (f32) followed by image.to8bit's fixed [0, 1] mapping.
template <typename T>
void check_u8_equals_f32_then_to8bit(const lumen::Array& in, ScaleOptions o, lumen::ThreadPool* pool,
                                     int min_levels = 150) {
  o.output = lumen::DType::f32;
  std::vector<lumen::image::ChannelScale> plan_f32, plan_u8;
  const auto f = lumen::image::scale01(in, o, &plan_f32, pool);
  const auto want = lumen::image::apply_ranges(f, {Range{0.0, 1.0}});
  o.output = lumen::DType::u8;
  const auto got = lumen::image::scale01(in, o, &plan_u8, pool);
  REQUIRE(got.dtype() == lumen::DType::u8);
  REQUIRE(got.shape() == in.shape());
  REQUIRE(plan_u8.size() == plan_f32.size());
  for (std::size_t c = 0; c < plan_u8.size(); ++c) {
    CHECK(plan_u8[c].method == plan_f32[c].method);
    CHECK(plan_u8[c].range.low == plan_f32[c].range.low);
    CHECK(plan_u8[c].range.high == plan_f32[c].range.high);
  }
  const auto g = u8_values(got), w = u8_values(want);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < g.size(); ++i) differ += g[i] != w[i];
  CHECK(differ == 0);
  // The data must exercise the rounding: many distinct levels, both ends clipped.
  std::vector<int> seen(256);
  for (int x : w) seen[static_cast<std::size_t>(x)] = 1;
  CHECK(std::accumulate(seen.begin(), seen.end(), 0) >= min_levels);
  CHECK(seen[0] == 1);
  CHECK(seen[255] == 1);
}

} // namespace

TEST_CASE("scale output u8 equals scale to f32 then to8bit fixed 0..1, value for value", "[image][scale]") {
  // A sky-like frame: a smooth gradient, noise, bright spikes, NaN and infinities, 1.2 megapixels
  // (above the exact-percentile limit, so the sampled path runs too).
  const std::int64_t h = 1100, w = 1100;
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 3.f);
  std::vector<float> sky(static_cast<std::size_t>(h * w));
  for (std::size_t i = 0; i < sky.size(); ++i) sky[i] = 100.f + static_cast<float>(i % 977) + noise(rng);
  for (std::size_t i = 0; i < sky.size(); i += 4099) sky[i] = 1100.f + static_cast<float>(i % 13) * 20.f;
  sky[5] = std::numeric_limits<float>::quiet_NaN();
  sky[77] = std::numeric_limits<float>::infinity();
  sky[78] = -std::numeric_limits<float>::infinity();
  const auto f32 = make<float>({h, w}, sky);
  std::vector<double> sky64(sky.begin(), sky.end());
  const auto f64 = make<double>({h, w}, sky64);
  std::vector<std::uint16_t> counts(sky.size());
  for (std::size_t i = 0; i < sky.size(); ++i)
    counts[i] = static_cast<std::uint16_t>(std::isfinite(sky[i]) ? sky[i] : 0.f);
  const auto u16 = make<std::uint16_t>({h, w}, counts);
  const auto pool = lumen::image::make_row_pool(2);

  for (const auto mode : {ScaleMode::minmax, ScaleMode::percentile, ScaleMode::asinh}) {
    ScaleOptions o;
    o.mode = mode;
    o.low_percentile = 0.5;
    o.high_percentile = 99.9;
    INFO("mode " << static_cast<int>(mode));
    check_u8_equals_f32_then_to8bit<float>(f32, o, nullptr);
    check_u8_equals_f32_then_to8bit<float>(f32, o, pool.get());
    check_u8_equals_f32_then_to8bit<double>(f64, o, pool.get());
    check_u8_equals_f32_then_to8bit<std::uint16_t>(u16, o, pool.get());
  }
  // asinh evaluated per pixel (a softening whose table would have more intervals than half the
  // frame's pixels), on every input type.
  ScaleOptions direct;
  direct.mode = ScaleMode::asinh;
  direct.low_percentile = 0.5;
  direct.high_percentile = 99.9;
  direct.softening = 1e-4;
  std::vector<lumen::image::ChannelScale> direct_plan;
  (void)lumen::image::scale01(f32, direct, &direct_plan);
  REQUIRE(direct_plan[0].method == "asinh");
  REQUIRE(direct_plan[0].table_error == 0); // no table
  check_u8_equals_f32_then_to8bit<float>(f32, direct, nullptr, 100);
  check_u8_equals_f32_then_to8bit<float>(f32, direct, pool.get(), 100);
  check_u8_equals_f32_then_to8bit<double>(f64, direct, pool.get(), 100);
  check_u8_equals_f32_then_to8bit<std::uint16_t>(u16, direct, pool.get(), 100);
  // Per-channel ranges on (H, W, 3), and the asinh fallback (degenerate range).
  ScaleOptions rgb;
  rgb.mode = ScaleMode::asinh;
  rgb.per_channel = true;
  check_u8_equals_f32_then_to8bit<float>(make<float>({h, w / 4, 3}, {sky.begin(), sky.begin() + h * (w / 4) * 3}), rgb,
                                         pool.get());
  rgb.softening = 1e-4; // per channel and per pixel
  check_u8_equals_f32_then_to8bit<float>(make<float>({h, w / 4, 3}, {sky.begin(), sky.begin() + h * (w / 4) * 3}), rgb,
                                         pool.get(), 100);
  std::vector<float> flat(100000, 5.f);
  for (std::size_t i = 0; i < flat.size(); i += 397) flat[i] = static_cast<float>(i % 1000);
  ScaleOptions fb;
  fb.mode = ScaleMode::asinh;
  std::vector<lumen::image::ChannelScale> plan;
  (void)lumen::image::scale01(make<float>({100, 1000}, flat), fb, &plan);
  REQUIRE(plan[0].method == "percentile"); // fell back
  check_u8_equals_f32_then_to8bit<float>(make<float>({100, 1000}, flat), fb, pool.get(), 50);

  ScaleOptions bad;
  bad.output = lumen::DType::i16;
  CHECK_THROWS_WITH(lumen::image::scale01(f32, bad), Catch::Contains("output must be f32 or u8"));
}

TEST_CASE("image.scale records its mapping in meta and checks its parameters", "[image][scale][stage]") {
  lumen::image::Scale stage;
  stage.mode.assign(lumen::ParamValue{std::string("asinh")});
  stage.validate();
  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  lumen::Item item("sky");
  std::vector<float> values(100);
  std::iota(values.begin(), values.end(), 0.f);
  item.set("image", make<float>({10, 10}, values));
  item.meta.set("units", "electrons");
  Collect out;
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  const auto& m = out.items[0].meta;
  CHECK(m.get_string("units") == "normalized");
  CHECK(m.get_string("scale_method") == "asinh");
  CHECK(m.get_number("scale_low") == Approx(0.99));
  CHECK(m.get_number("scale_high") == Approx(98.01));
  CHECK(m.get_number("scale_softening") == Approx(0.1 * (98.01 - 0.99)));
  CHECK(!m.has("scale_fallback"));
  CHECK(m.get_string("scale_output") == "f32");
  CHECK(out.items[0].array("image").dtype() == lumen::DType::f32);

  stage.output.assign(lumen::ParamValue{std::string("u8")});
  lumen::Item item8("sky8");
  item8.set("image", make<float>({10, 10}, values));
  item8.meta.set("units", "electrons");
  stage.process(item8, out);
  REQUIRE(out.items.size() == 2);
  const auto& u8 = out.items[1].array("image");
  CHECK(u8.dtype() == lumen::DType::u8);
  CHECK(out.items[1].meta.get_string("scale_output") == "u8");
  CHECK(u8_values(u8) == u8_values(lumen::image::apply_ranges(out.items[0].array("image"), {Range{0.0, 1.0}})));

  stage.softening.assign(lumen::ParamValue{0.0});
  CHECK_THROWS_WITH(stage.validate(), Catch::Contains("softening must be > 0"));
  lumen::image::Scale bad;
  bad.mode.assign(lumen::ParamValue{std::string("percentile")});
  bad.low_percentile.assign(lumen::ParamValue{99.0});
  bad.high_percentile.assign(lumen::ParamValue{1.0});
  try {
    bad.validate();
    FAIL("no error");
  } catch (const lumen::ConfigError& e) {
    CHECK(e.param() == "high_percentile");
    CHECK(std::string(e.what()).find("greater than low_percentile") != std::string::npos);
  }
}

TEST_CASE("the image plugin descriptor lists its stages", "[image][plugin]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 3);
  CHECK(table->stages[0].name == "image.to8bit");
  CHECK(table->stages[1].name == "image.downsample");
  CHECK(table->stages[2].name == "image.scale");
  for (const auto& s : table->stages) CHECK(s.concurrent);
}
