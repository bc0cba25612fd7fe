// Unit tests for the `image` set: to8bit mapping end points, percentiles on known data,
// sampling of large images, constant images, NaN and infinity handling, per-channel ranges,
// and the image.to8bit stage driven directly.
//
// Run: build/bin/test_image   (or ctest -R image)
// The stage under test is used in pipelines like:
//   - id: stretch
//     use: image.to8bit
//     with: {mode: minmax}
#include "image_stages.hpp"
#include "lumen/testing.hpp"
#include "to8bit.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
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

TEST_CASE("the image plugin descriptor lists image.to8bit", "[image][plugin]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 1);
  CHECK(table->stages[0].name == "image.to8bit");
  CHECK(table->stages[0].concurrent);
}
