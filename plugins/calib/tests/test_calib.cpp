// Unit tests for the `calib` set: ADU -> electrons against hand-computed values (per CFA site,
// scalar black, legacy formula, meta/parameter precedence, bad configurations and inputs),
// bilinear demosaicing (constants and linear ramps exact, X-Trans), and L.A.Cosmic (the median
// network, recall on injected hits in a synthetic star field, stars left alone, the tile scheme
// equal to a full recomputation).
//
// Run: build/bin/test_calib   (or ctest -R calib)
// The stages under test are used in pipelines like:
//   - id: electrons
//     use: calib.electrons
//     with: {gain: 2.1, read_noise: 6.0}
#include "calib_stages.hpp"
#include "cfa.hpp"
#include "cosmic.hpp"
#include "demosaic.hpp"
#include "electrons.hpp"
#include "lumen/testing.hpp"
#include "parallel.hpp"
#include "starfield.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using Collect = lumen::testing::Collect;
using TestContext = lumen::testing::Context;

template <typename T> lumen::Array make(const lumen::Shape& shape, const std::vector<T>& values) {
  lumen::Array a(lumen::dtype_of_v<T>, shape);
  auto v = a.writable<T>();
  std::copy(values.begin(), values.end(), v.data());
  return a;
}

std::vector<float> values_of(const lumen::Array& a) {
  const auto v = a.view<float>();
  return {v.begin(), v.end()};
}

// Runs a stage on one item; returns the emitted item.
template <typename S> lumen::Item run(S& stage, lumen::Item item) {
  stage.validate();
  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  Collect out;
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  return std::move(out.items[0]);
}

template <typename S> std::string error_of(S& stage, lumen::Item item) {
  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  Collect out;
  try {
    stage.process(item, out);
  } catch (const lumen::InputError& e) {
    return e.what();
  }
  return "no error";
}

lumen::Item adu_item(lumen::Array image) {
  lumen::Item item("frame");
  item.set("image", std::move(image));
  item.meta.set("units", "adu");
  return item;
}

} // namespace

// ---- calib.electrons -----------------------------------------------------------------------------

TEST_CASE("electrons: (ADU - black) * gain per RGGB site, by hand", "[calib][electrons]") {
  lumen::calib::Electrons stage;
  auto item = adu_item(make<std::uint16_t>({2, 4}, {600, 700, 610, 710, 800, 900, 810, 910}));
  item.meta.set("cfa", "RGGB");
  item.meta.set("cfa_pattern", "RGGB");
  item.meta.set("black_level", 509.0);
  item.meta.set("black_level_per_channel", std::vector<double>{512, 510, 508, 506});
  item.meta.set("gain_e_per_adu", 2.1);
  item.meta.set("read_noise_e", 6.0);
  const auto out = run(stage, std::move(item));
  const auto v = values_of(out.array("image"));
  // R: (600-512)*2.1 = 184.8   G: (700-510)*2.1 = 399   G: (800-508)*2.1 = 613.2   B: (900-506)*2.1 = 827.4
  CHECK(v[0] == Approx(184.8f));
  CHECK(v[1] == Approx(399.0f));
  CHECK(v[2] == Approx(205.8f)); // (610-512)*2.1
  CHECK(v[3] == Approx(420.0f)); // (710-510)*2.1
  CHECK(v[4] == Approx(613.2f));
  CHECK(v[5] == Approx(827.4f));
  CHECK(v[6] == Approx(634.2f)); // (810-508)*2.1
  CHECK(v[7] == Approx(848.4f)); // (910-506)*2.1
  CHECK(out.array("image").dtype() == lumen::DType::f32);
  CHECK(out.meta.get_string("units") == "electrons");
  CHECK(out.meta.get_string("calibration_method") == "(ADU - black_level) * gain");
  CHECK(out.meta.get_number("gain_e_per_adu") == 2.1);
  CHECK(out.meta.get_number("read_noise_e") == 6.0); // recorded ...
  CHECK(out.meta.get_number("black_level_applied") == Approx(509.0));
  CHECK(out.meta.get_list("black_level_applied_per_site") == std::vector<double>{512, 510, 508, 506});
}

TEST_CASE("electrons: the read noise is recorded, never subtracted; the legacy formula subtracts it",
          "[calib][electrons]") {
  lumen::calib::Electrons stage;
  stage.gain.assign(lumen::ParamValue{0.79});
  stage.read_noise.assign(lumen::ParamValue{2.5});
  stage.black_level.assign(lumen::ParamValue{100.0});
  auto out = run(stage, adu_item(make<float>({1, 3}, {100.f, 1100.f, 2100.f})));
  CHECK(values_of(out.array("image")) == std::vector<float>{0.f, 790.f, 1580.f}); // (ADU - 100) * 0.79
  CHECK(out.meta.get_number("read_noise_e") == 2.5);

  lumen::calib::Electrons legacy;
  legacy.gain.assign(lumen::ParamValue{2.1});
  legacy.read_noise.assign(lumen::ParamValue{6.0});
  legacy.legacy_read_noise_offset.assign(lumen::ParamValue{true});
  auto item = adu_item(make<std::uint16_t>({1, 2}, {1000, 0}));
  item.meta.set("black_level", 512.0); // ignored by the legacy formula
  out = run(legacy, std::move(item));
  CHECK(values_of(out.array("image")) == std::vector<float>{2094.f, -6.f}); // 1000*2.1 - 6, 0*2.1 - 6
  CHECK(out.meta.get_string("calibration_method") == "legacy: ADU * gain - read_noise");
}

TEST_CASE("electrons: meta wins by default, parameters fill in; prefer: parameters reverses that",
          "[calib][electrons]") {
  const auto item = [] {
    auto it = adu_item(make<float>({1, 1}, {110.f}));
    it.meta.set("gain_e_per_adu", 2.0);
    it.meta.set("black_level", 10.0);
    return it;
  };
  lumen::calib::Electrons stage;
  stage.gain.assign(lumen::ParamValue{1.5});
  stage.black_level.assign(lumen::ParamValue{0.0});
  auto out = run(stage, item());
  CHECK(values_of(out.array("image"))[0] == 200.f); // (110 - 10) * 2
  CHECK(out.meta.find("gain_e_per_adu")->comment.find("meta") != std::string::npos);

  stage.prefer.assign(lumen::ParamValue{std::string("parameters")});
  out = run(stage, item());
  CHECK(values_of(out.array("image"))[0] == 165.f); // (110 - 0) * 1.5
  CHECK(out.meta.find("gain_e_per_adu")->comment.find("parameter gain") != std::string::npos);

  lumen::calib::Electrons same; // equal values: the source named is still the one that won
  same.gain.assign(lumen::ParamValue{2.0});
  out = run(same, item());
  CHECK(out.meta.find("gain_e_per_adu")->comment.find("meta gain_e_per_adu") != std::string::npos);

  lumen::calib::Electrons fill;
  fill.gain.assign(lumen::ParamValue{1.5});
  out = run(fill, adu_item(make<float>({1, 1}, {110.f}))); // no meta: the parameter fills in, black 0
  CHECK(values_of(out.array("image"))[0] == 165.f);
  CHECK(!out.meta.has("read_noise_e")); // unknown stays unknown
}

TEST_CASE("electrons: black level per X-Trans site", "[calib][electrons]") {
  const auto cfa = lumen::raw::parse_cfa("XTRANS");
  std::vector<double> blacks(36);
  for (std::size_t i = 0; i < 36; ++i) blacks[i] = 1000 + static_cast<double>(i);
  std::vector<std::uint16_t> adu(12 * 12);
  for (std::size_t i = 0; i < adu.size(); ++i) adu[i] = 2000;
  auto item = adu_item(make<std::uint16_t>({12, 12}, adu));
  item.meta.set("cfa", "XTRANS");
  item.meta.set("cfa_pattern", cfa.letters());
  item.meta.set("black_level_per_channel", blacks);
  item.meta.set("gain_e_per_adu", 0.5);
  lumen::calib::Electrons stage;
  const auto out = run(stage, std::move(item));
  const auto v = out.array("image").view<float>();
  for (std::int64_t y = 0; y < 12; ++y)
    for (std::int64_t x = 0; x < 12; ++x) REQUIRE(v.at(y, x) == float((2000 - (1000 + (y % 6) * 6 + x % 6)) * 0.5));
}

TEST_CASE("electrons: row threads give the same result", "[calib][electrons]") {
  std::vector<std::uint16_t> adu(300 * 257);
  for (std::size_t i = 0; i < adu.size(); ++i) adu[i] = static_cast<std::uint16_t>((i * 7919) % 60000);
  const auto image = make<std::uint16_t>({300, 257}, adu);
  lumen::calib::ElectronsSpec spec;
  spec.gain = 1.7;
  spec.rows = spec.cols = 2;
  spec.black = {100, 101, 102, 103};
  const auto pool = lumen::image::make_row_pool(2);
  const auto one = lumen::calib::to_electrons(image, spec);
  const auto two = lumen::calib::to_electrons(image, spec, pool.get());
  CHECK(values_of(one) == values_of(two));
  CHECK(values_of(one)[258] == float((static_cast<float>(adu[258]) - 103.f) * 1.7f)); // row 1, column 1: B site
}

TEST_CASE("electrons: an f32 image is converted in place only when no one else holds it", "[calib][electrons]") {
  lumen::calib::ElectronsSpec spec;
  spec.gain = 2.0;
  spec.black = {1.0};
  lumen::Array a = make<float>({1, 3}, {1.f, 2.f, 3.f});
  const lumen::Array other = a; // another holder (another branch of the pipeline)
  const auto out = lumen::calib::to_electrons(a, spec);
  CHECK(values_of(out) == std::vector<float>{0.f, 2.f, 4.f});
  CHECK(values_of(other) == std::vector<float>{1.f, 2.f, 3.f});
  CHECK(values_of(a) == std::vector<float>{1.f, 2.f, 3.f});
  const void* storage = a.raw();
  const auto moved = lumen::calib::to_electrons(std::move(a), spec); // `other` still shares: copied
  CHECK(moved.raw() != storage);
  lumen::Array alone = make<float>({1, 3}, {1.f, 2.f, 3.f});
  const void* alone_storage = alone.raw();
  const auto in_place = lumen::calib::to_electrons(std::move(alone), spec);
  CHECK(in_place.raw() == alone_storage);
  CHECK(values_of(in_place) == std::vector<float>{0.f, 2.f, 4.f});
}

TEST_CASE("electrons: gain 1 and black 0 on f32 pass the array on untouched, equal to the formula",
          "[calib][electrons]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> v = {-0.f, 0.f, 1.5f, -7.25f, 1e-42f, 3.4e38f, inf, -inf, nan, 123456.789f};
  lumen::calib::ElectronsSpec spec; // gain 1, black 0
  lumen::Array a = make<float>({1, 10}, v);
  const void* storage = a.raw();
  const auto out = lumen::calib::to_electrons(std::move(a), spec);
  CHECK(out.raw() == storage); // no pass, no copy
  const auto got = values_of(out);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float formula = (v[i] - 0.f) * 1.f; // what the loop computes
    CHECK(std::memcmp(&got[i], &formula, sizeof(float)) == 0);
  }
  spec.legacy = true; // x * 1 - 0
  CHECK(lumen::calib::to_electrons(make<float>({1, 10}, v), spec).dtype() == lumen::DType::f32);
  // Anything else still computes: u16 input (converted to f32), a black level, a gain.
  spec.legacy = false;
  CHECK(lumen::calib::to_electrons(make<std::uint16_t>({1, 2}, {1, 2}), spec).dtype() == lumen::DType::f32);
  spec.black = {0.5};
  CHECK(values_of(lumen::calib::to_electrons(make<float>({1, 2}, {1.f, 2.f}), spec)) == std::vector<float>{0.5f, 1.5f});
  spec.black = {0.0};
  spec.gain = 1.0 + 1e-6;
  CHECK(values_of(lumen::calib::to_electrons(make<float>({1, 1}, {1000.f}), spec))[0] == 1000.f * float(1.0 + 1e-6));
}

TEST_CASE("electrons: clear errors for a missing gain, electrons input, wrong units and legacy without noise",
          "[calib][electrons]") {
  lumen::calib::Electrons stage;
  auto msg = error_of(stage, adu_item(make<float>({1, 1}, {1.f})));
  CHECK(msg.find("no gain for item 'frame'") != std::string::npos);
  CHECK(msg.find("gain_e_per_adu") != std::string::npos);
  CHECK(msg.find("set gain") != std::string::npos);

  auto e = adu_item(make<float>({1, 1}, {1.f}));
  e.meta.set("units", "electrons");
  e.meta.set("gain_e_per_adu", 1.0);
  msg = error_of(stage, e);
  CHECK(msg.find("already in electrons") != std::string::npos);
  CHECK(msg.find("electrons_input: pass") != std::string::npos);
  lumen::calib::Electrons pass;
  pass.electrons_input.assign(lumen::ParamValue{std::string("pass")});
  CHECK(values_of(run(pass, e).array("image")) == std::vector<float>{1.f});
  e.meta.set("units", "electrons/s");
  CHECK(error_of(stage, e).find("already in electrons/s") != std::string::npos);
  CHECK(run(pass, e).meta.get_string("units") == "electrons/s");

  auto odd = adu_item(make<float>({1, 1}, {1.f}));
  odd.meta.set("units", "photons");
  odd.meta.set("gain_e_per_adu", 1.0);
  CHECK(error_of(stage, odd).find("units 'photons', expected adu") != std::string::npos);

  auto bad_gain = adu_item(make<float>({1, 1}, {1.f}));
  bad_gain.meta.set("gain_e_per_adu", -2.0);
  CHECK(error_of(stage, bad_gain).find("gain_e_per_adu = -2") != std::string::npos);

  lumen::calib::Electrons legacy;
  legacy.gain.assign(lumen::ParamValue{1.0});
  legacy.legacy_read_noise_offset.assign(lumen::ParamValue{true});
  CHECK(error_of(legacy, adu_item(make<float>({1, 1}, {1.f}))).find("needs a read noise") != std::string::npos);

  auto short_black = adu_item(make<float>({2, 2}, {1.f, 1.f, 1.f, 1.f}));
  short_black.meta.set("cfa", "RGGB");
  short_black.meta.set("gain_e_per_adu", 1.0);
  short_black.meta.set("black_level_per_channel", std::vector<double>{1, 2, 3});
  CHECK(error_of(stage, short_black).find("3 black levels per channel") != std::string::npos);

  lumen::calib::Electrons nothing;
  nothing.prefer.assign(lumen::ParamValue{std::string("parameters")});
  try {
    nothing.validate();
    FAIL("no error");
  } catch (const lumen::ConfigError& err) {
    CHECK(err.param() == "prefer");
    CHECK(std::string(err.what()).find("none of gain, read_noise, black_level") != std::string::npos);
  }
}

// ---- calib.demosaic ------------------------------------------------------------------------------

namespace {

// A mosaic sampled from per-colour functions f_c(y, x) at each site's colour.
template <typename F> lumen::Array mosaic_of(const lumen::raw::CfaPattern& cfa, std::int64_t h, std::int64_t w, F f) {
  lumen::Array a(lumen::DType::f32, lumen::Shape{h, w});
  auto v = a.writable<float>();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x) v.at(y, x) = f(cfa.color(y, x), y, x);
  return a;
}

} // namespace

TEST_CASE("demosaic: a constant colour is exact everywhere, Bayer and X-Trans", "[calib][demosaic]") {
  for (const char* name : {"RGGB", "BGGR", "GRBG", "GBRG", "XTRANS"}) {
    const auto cfa = lumen::raw::parse_cfa(name);
    const auto mosaic = mosaic_of(cfa, 23, 31, [](int c, std::int64_t, std::int64_t) { return 10.f * (c + 1); });
    const auto rgb = lumen::calib::demosaic_bilinear(mosaic, cfa);
    REQUIRE(rgb.shape() == lumen::Shape{23, 31, 3});
    const auto v = rgb.view<float>();
    for (std::int64_t y = 0; y < 23; ++y)
      for (std::int64_t x = 0; x < 31; ++x)
        for (int c = 0; c < 3; ++c) REQUIRE(v.at(y, x, c) == Approx(10.f * (c + 1)).epsilon(1e-6));
  }
}

TEST_CASE("demosaic: Bayer reproduces a different linear ramp per colour exactly inside the border",
          "[calib][demosaic]") {
  const auto ramp = [](int c, std::int64_t y, std::int64_t x) {
    return static_cast<float>(100 * (c + 1) + (c + 1) * 3.0 * double(x) - (2 - c) * 1.5 * double(y));
  };
  for (const char* name : {"RGGB", "BGGR", "GRBG", "GBRG"}) {
    const auto cfa = lumen::raw::parse_cfa(name);
    const auto rgb = lumen::calib::demosaic_bilinear(mosaic_of(cfa, 20, 26, ramp), cfa);
    const auto v = rgb.view<float>();
    for (std::int64_t y = 1; y < 19; ++y)
      for (std::int64_t x = 1; x < 25; ++x)
        for (int c = 0; c < 3; ++c) REQUIRE(v.at(y, x, c) == Approx(ramp(c, y, x)).margin(1e-3));
  }
  // Hand-computed RGGB corner of a 4x4 mosaic 1..16: at (1,1) (a B site) R is the mean of the
  // diagonals (1+3+9+11)/4 = 6 and G the mean of the edge neighbours (2+5+7+10)/4 = 6.
  std::vector<float> m(16);
  for (std::size_t i = 0; i < 16; ++i) m[i] = static_cast<float>(i + 1);
  const auto rgb = lumen::calib::demosaic_bilinear(make<float>({4, 4}, m), lumen::raw::parse_cfa("RGGB"));
  const auto v = rgb.view<float>();
  CHECK(v.at(1, 1, 0) == 6.f);
  CHECK(v.at(1, 1, 1) == 6.f);
  CHECK(v.at(1, 1, 2) == 6.f);                     // the B site keeps its own value
  CHECK(v.at(0, 1, 0) == Approx((1.f + 3.f) / 2)); // a G site on an R row: R from left and right
  CHECK(v.at(0, 1, 2) == 6.f);                     // B from above and below, below mirrored: (6 + 6) / 2
}

TEST_CASE("demosaic: X-Trans ramps stay close and threads do not change the result", "[calib][demosaic]") {
  const auto cfa = lumen::raw::parse_cfa("XTRANS");
  const auto ramp = [](int, std::int64_t y, std::int64_t x) { return static_cast<float>(50 + 0.5 * double(x + y)); };
  const auto mosaic = mosaic_of(cfa, 60, 66, ramp);
  const auto one = lumen::calib::demosaic_bilinear(mosaic, cfa);
  const auto pool = lumen::image::make_row_pool(2);
  const auto two = lumen::calib::demosaic_bilinear(mosaic, cfa, pool.get());
  CHECK(values_of(one) == values_of(two));
  const auto v = one.view<float>();
  for (std::int64_t y = 2; y < 58; ++y)
    for (std::int64_t x = 2; x < 64; ++x)
      for (int c = 0; c < 3; ++c) REQUIRE(std::abs(v.at(y, x, c) - ramp(c, y, x)) <= 0.5f); // within one pixel step
}

TEST_CASE("calib.demosaic: meta, pass-through and errors", "[calib][demosaic][stage]") {
  lumen::calib::Demosaic stage;
  lumen::Item item("raw");
  item.set("image", lumen::Array(lumen::DType::u16, lumen::Shape{8, 8}));
  item.meta.set("cfa", "GBRG");
  auto out = run(stage, item);
  CHECK(out.array("image").shape() == lumen::Shape{8, 8, 3});
  CHECK(out.meta.get_string("cfa") == "none");
  CHECK(out.meta.get_string("demosaiced_from") == "GBRG");

  lumen::Item grey("grey");
  grey.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{8, 8}));
  CHECK(run(stage, grey).array("image").shape() == lumen::Shape{8, 8}); // no cfa: passes
  lumen::calib::Demosaic strict;
  strict.no_cfa.assign(lumen::ParamValue{std::string("error")});
  CHECK(error_of(strict, grey).find("has no CFA mosaic (meta cfa is missing)") != std::string::npos);

  lumen::Item bad("bad");
  bad.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{8, 8}));
  bad.meta.set("cfa", "RGBW");
  CHECK(error_of(stage, bad).find("unknown CFA pattern 'RGBW'") != std::string::npos);
  lumen::Item cube("cube");
  cube.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{2, 8, 8}));
  cube.meta.set("cfa", "RGGB");
  CHECK(error_of(stage, cube).find("expected an (H, W) mosaic") != std::string::npos);
}

// ---- calib.cosmic_rays ---------------------------------------------------------------------------

TEST_CASE("cosmic: the median networks and the 5x5 median filters are exact", "[calib][cosmic]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(0, 5); // many ties
  std::uniform_real_distribution<float> any(-1000.f, 1000.f);
  const auto& sort5 = lumen::calib::sort5_network();
  const auto& med5 = lumen::calib::median5_network();
  const auto& med25 = lumen::calib::median25_network();
  CHECK(med25.pairs.size() < 100);
  const auto apply = [](const lumen::calib::Network& net, auto& w) {
    for (const auto& [a, b] : net)
      if (w[b] < w[a]) std::swap(w[a], w[b]);
  };
  for (int trial = 0; trial < 4000; ++trial) {
    const auto draw = [&] { return trial % 2 ? any(rng) : static_cast<float>(small(rng)); };
    std::array<float, 5> f{};
    for (auto& x : f) x = draw();
    auto sorted = f, med = f;
    apply(sort5.pairs, sorted);
    apply(med5.pairs, med);
    std::sort(f.begin(), f.end());
    for (std::size_t k = 0; k < 5; ++k) REQUIRE(sorted[static_cast<std::size_t>(sort5.order[k])] == f[k]);
    REQUIRE(med[static_cast<std::size_t>(med5.target)] == f[2]);

    std::array<float, 25> v{};
    for (auto& x : v) x = draw();
    for (std::size_t dx = 0; dx < 5; ++dx) { // the precondition: every column sorted
      std::array<float, 5> col{};
      for (std::size_t dy = 0; dy < 5; ++dy) col[dy] = v[dy * 5 + dx];
      std::sort(col.begin(), col.end());
      for (std::size_t dy = 0; dy < 5; ++dy) v[dy * 5 + dx] = col[dy];
    }
    auto w = v;
    apply(med25.pairs, w);
    std::nth_element(v.begin(), v.begin() + 12, v.end());
    REQUIRE(w[static_cast<std::size_t>(med25.target)] == v[12]);
  }
  const std::int64_t iw = 300, ih = 9; // wider than one 128-pixel block, twice
  std::vector<float> in(static_cast<std::size_t>(iw * ih));
  for (auto& x : in) x = any(rng);
  std::vector<float> out(static_cast<std::size_t>((iw - 4) * (ih - 4))), sep(out.size());
  lumen::calib::median5_valid(in.data(), iw, iw, ih, out.data(), iw - 4);
  lumen::calib::median5_separable_valid(in.data(), iw, iw, ih, sep.data(), iw - 4);
  const auto median_of = [](std::vector<float> x) {
    std::nth_element(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(x.size() / 2), x.end());
    return x[x.size() / 2];
  };
  for (std::int64_t y = 0; y < ih - 4; ++y)
    for (std::int64_t x = 0; x < iw - 4; ++x) {
      std::vector<float> win, row_medians;
      for (int dy = 0; dy < 5; ++dy) {
        std::vector<float> row;
        for (int dx = 0; dx < 5; ++dx) row.push_back(in[static_cast<std::size_t>((y + dy) * iw + x + dx)]);
        win.insert(win.end(), row.begin(), row.end());
        row_medians.push_back(median_of(row));
      }
      REQUIRE(out[static_cast<std::size_t>(y * (iw - 4) + x)] == median_of(win));
      REQUIRE(sep[static_cast<std::size_t>(y * (iw - 4) + x)] == median_of(row_medians));
    }
}

namespace {

struct Field {
  lumen::Array image;              // electrons, f32
  std::vector<std::uint8_t> truth; // 1 = cosmic-ray pixel
  std::vector<lumen::synth::Star> stars;
};

// A 512 x 512 star field in electrons (sky 200 e-, read noise 5 e-, FWHM 2.5 px, Poisson noise)
// with `hits` cosmic rays of 1-3 pixels, 300-3000 e- each, at least 4 px from any star centre.
Field star_field_with_hits(int hits, std::uint64_t seed) {
  lumen::synth::StarfieldSpec spec;
  spec.width = spec.height = 512;
  spec.seed = seed;
  spec.stars = 250;
  spec.fwhm_px = 2.5;
  spec.sky_e = 200;
  spec.peak_e_max = 30000;
  spec.gain_e_per_adu = 1.0;
  spec.read_noise_e = 5.0;
  spec.bias_adu = 0;
  spec.hot_pixels = 0;
  spec.dtype = lumen::DType::f32;
  Field f;
  f.image = lumen::synth::make_starfield(spec, 0);
  f.stars = lumen::synth::star_catalogue(spec);
  f.truth.assign(512 * 512, 0);
  auto v = f.image.writable<float>();
  std::mt19937_64 rng(seed * 31 + 1);
  std::uniform_int_distribution<int> pos(3, 508), len(1, 3), dir(0, 2);
  std::uniform_real_distribution<double> amp(300, 3000);
  int placed = 0;
  while (placed < hits) {
    const int y = pos(rng), x = pos(rng);
    bool near = false;
    for (const auto& s : f.stars) near = near || (std::abs(s.x - x) < 6 && std::abs(s.y - y) < 6);
    if (near) continue;
    const int n = len(rng), d = dir(rng);
    for (int k = 0; k < n; ++k) {
      const int yy = y + (d == 1 ? k : d == 2 ? k : 0), xx = x + (d == 0 ? k : d == 2 ? k : 0);
      v.at(yy, xx) += static_cast<float>(amp(rng));
      f.truth[static_cast<std::size_t>(yy * 512 + xx)] = 1;
    }
    ++placed;
  }
  return f;
}

} // namespace

TEST_CASE("cosmic: L.A.Cosmic finds injected hits and leaves stars alone", "[calib][cosmic]") {
  const Field f = star_field_with_hits(150, 3);
  lumen::calib::CosmicOptions o;
  o.read_noise = 5.0;
  const auto r = lumen::calib::detect_cosmics(f.image, o);
  const auto mask = r.mask.view<std::uint8_t>();
  // L.A.Cosmic grows hits twice per iteration into neighbours (above sigclip, then above
  // sigfrac * sigclip) on purpose, since real hits spill charge, and later iterations can grow
  // from those: flags within 3 pixels of a hit are counted apart from isolated false detections.
  const auto near_hit = [&](std::int64_t i) {
    const std::int64_t y = i / 512, x = i % 512;
    for (std::int64_t dy = -3; dy <= 3; ++dy)
      for (std::int64_t dx = -3; dx <= 3; ++dx) {
        const std::int64_t yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < 512 && xx >= 0 && xx < 512 && f.truth[static_cast<std::size_t>(yy * 512 + xx)]) return true;
      }
    return false;
  };
  std::int64_t truth = 0, hit = 0, grown = 0, false_pos = 0;
  for (std::int64_t i = 0; i < 512 * 512; ++i) {
    const bool t = f.truth[static_cast<std::size_t>(i)] != 0, m = mask.data()[i] != 0;
    truth += t;
    hit += t && m;
    if (!t && m) (near_hit(i) ? grown : false_pos) += 1;
  }
  const double recall = double(hit) / double(truth);
  INFO("truth " << truth << " found " << hit << " grown " << grown << " false " << false_pos << " iterations "
                << r.iterations);
  CHECK(recall >= 0.9);
  // Isolated false detections: pure-noise peaks above sigclip also pass (5 of 262,144 pixels
  // here); the rate must stay below 5e-5.
  CHECK(double(false_pos) / (512.0 * 512.0) < 5e-5);
  CHECK(grown <= truth / 2); // neighbours taken along with hits
  CHECK(r.count == hit + grown + false_pos);
  // No pixel within 2 px of a star brighter than 10 sky-noise sigmas is flagged.
  for (const auto& s : f.stars) {
    if (s.peak_e < 150) continue;
    for (int dy = -2; dy <= 2; ++dy)
      for (int dx = -2; dx <= 2; ++dx) {
        const auto y = static_cast<std::int64_t>(std::lround(s.y)) + dy,
                   x = static_cast<std::int64_t>(std::lround(s.x)) + dx;
        if (y < 0 || y >= 512 || x < 0 || x >= 512 || f.truth[static_cast<std::size_t>(y * 512 + x)]) continue;
        INFO("star at " << s.x << ", " << s.y << " peak " << s.peak_e);
        REQUIRE(mask.at(y, x) == 0);
      }
  }
  // Flagged pixels are replaced: what is left of a hit is close to the sky.
  const auto clean = r.cleaned.view<float>();
  for (std::int64_t i = 0; i < 512 * 512; ++i)
    if (f.truth[static_cast<std::size_t>(i)] && mask.data()[i]) REQUIRE(clean.data()[i] < 200 + 8 * 15);
}

TEST_CASE("cosmic: the separable medians find the same hits", "[calib][cosmic]") {
  const Field f = star_field_with_hits(150, 3);
  lumen::calib::CosmicOptions o;
  o.read_noise = 5.0;
  o.separable_median = true;
  const auto r = lumen::calib::detect_cosmics(f.image, o);
  const auto mask = r.mask.view<std::uint8_t>();
  std::int64_t truth = 0, hit = 0;
  for (std::int64_t i = 0; i < 512 * 512; ++i) {
    truth += f.truth[static_cast<std::size_t>(i)];
    hit += f.truth[static_cast<std::size_t>(i)] && mask.data()[i];
  }
  CHECK(double(hit) / double(truth) >= 0.9);
  CHECK(r.count <= hit + truth / 2 + 13); // grown neighbours and a few noise peaks at most
}

TEST_CASE("cosmic: a saturated star is masked with saturation set, hits elsewhere are still found", "[calib][cosmic]") {
  Field f = star_field_with_hits(60, 13);
  auto v = f.image.writable<float>();
  // A saturated star: flat top at 60000 e- (radius 3) with steep wings, at (256, 256).
  for (std::int64_t y = 246; y < 267; ++y)
    for (std::int64_t x = 246; x < 267; ++x) {
      const double r = std::hypot(double(y - 256), double(x - 256));
      v.at(y, x) = r <= 3 ? 60000.f : v.at(y, x) + static_cast<float>(60000 * std::exp(-(r - 3) * (r - 3) / 2));
      f.truth[static_cast<std::size_t>(y * 512 + x)] = 0;
    }
  lumen::calib::CosmicOptions o;
  o.read_noise = 5.0;
  o.saturation = 55000;
  const auto r = lumen::calib::detect_cosmics(f.image, o);
  CHECK(r.saturated >= 29); // the flat top (29 pixels), grown by 2
  const auto mask = r.mask.view<std::uint8_t>();
  for (std::int64_t y = 246; y < 267; ++y)
    for (std::int64_t x = 246; x < 267; ++x)
      if (std::hypot(double(y - 256), double(x - 256)) <= 5) REQUIRE(mask.at(y, x) == 0);
  CHECK(r.cleaned.view<float>().at(256, 256) == 60000.f);
  std::int64_t truth = 0, hit = 0;
  for (std::int64_t i = 0; i < 512 * 512; ++i) {
    truth += f.truth[static_cast<std::size_t>(i)];
    hit += f.truth[static_cast<std::size_t>(i)] && mask.data()[i];
  }
  CHECK(double(hit) / double(truth) >= 0.9);
}

TEST_CASE("cosmic: tiles after the first iteration equal a full recomputation, on any thread count",
          "[calib][cosmic]") {
  const Field f = star_field_with_hits(300, 11);
  lumen::calib::CosmicOptions o;
  o.read_noise = 5.0;
  o.sigclip = 3.5; // more detections, so the later iterations have work
  const auto fast = lumen::calib::detect_cosmics(f.image, o);
  o.full_recompute = true;
  const auto pool = lumen::image::make_row_pool(3);
  const auto full = lumen::calib::detect_cosmics(f.image, o, pool.get());
  CHECK(fast.iterations == full.iterations);
  CHECK(fast.tiles_run < full.tiles_run);
  const auto a = fast.mask.view<std::uint8_t>(), b = full.mask.view<std::uint8_t>();
  CHECK(std::equal(a.begin(), a.end(), b.begin()));
  CHECK(values_of(fast.cleaned) == values_of(full.cleaned));
}

TEST_CASE("calib.cosmic_rays: mask, meta and errors", "[calib][cosmic][stage]") {
  const Field f = star_field_with_hits(20, 5);
  lumen::Item item("sky");
  item.set("image", f.image);
  item.meta.set("units", "electrons");
  item.meta.set("read_noise_e", 5.0);
  lumen::calib::CosmicRays stage;
  const auto out = run(stage, item);
  REQUIRE(out.has("cosmic_ray_mask"));
  CHECK(out.array("cosmic_ray_mask").dtype() == lumen::DType::u8);
  CHECK(out.array("cosmic_ray_mask").shape() == lumen::Shape{512, 512});
  CHECK(out.meta.get_int("cosmic_ray_count").value() >= 20);
  CHECK(out.meta.get_int("cosmic_ray_iterations").value() >= 1);

  lumen::Item no_rn("no_rn");
  no_rn.set("image", f.image);
  no_rn.meta.set("units", "electrons");
  CHECK(error_of(stage, no_rn).find("no read noise for item 'no_rn'") != std::string::npos);
  lumen::Item adu("adu");
  adu.set("image", f.image);
  adu.meta.set("units", "adu");
  adu.meta.set("read_noise_e", 5.0);
  CHECK(error_of(stage, adu).find("put calib.electrons before it") != std::string::npos);
  lumen::Item cube("cube");
  cube.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{2, 8, 8}));
  cube.meta.set("read_noise_e", 5.0);
  CHECK(error_of(stage, cube).find("needs an (H, W) image") != std::string::npos);
}

TEST_CASE("cosmic: NaN pixels are never flagged and stay NaN", "[calib][cosmic]") {
  Field f = star_field_with_hits(10, 9);
  auto v = f.image.writable<float>();
  v.at(100, 100) = std::numeric_limits<float>::quiet_NaN();
  lumen::calib::CosmicOptions o;
  o.read_noise = 5.0;
  const auto r = lumen::calib::detect_cosmics(f.image, o);
  CHECK(std::isnan(r.cleaned.view<float>().at(100, 100)));
  CHECK(r.mask.view<std::uint8_t>().at(100, 100) == 0);
}

TEST_CASE("calib: tiny images neither crash nor read outside the frame", "[calib][cosmic][demosaic]") {
  for (const auto& [h, w] :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 1}, {1, 9}, {2, 7}, {5, 5}, {13, 3}}) {
    lumen::Array a(lumen::DType::f32, lumen::Shape{h, w});
    auto v = a.writable<float>();
    for (std::int64_t i = 0; i < a.size(); ++i) v.data()[i] = static_cast<float>(100 + (i * 37) % 11);
    lumen::calib::CosmicOptions o;
    o.read_noise = 3;
    const auto r = lumen::calib::detect_cosmics(a, o);
    CHECK(r.mask.shape() == lumen::Shape{h, w});
    for (const char* name : {"RGGB", "XTRANS"}) {
      const auto rgb = lumen::calib::demosaic_bilinear(a, lumen::raw::parse_cfa(name));
      CHECK(rgb.shape() == lumen::Shape{h, w, 3});
      for (const float x : values_of(rgb)) REQUIRE((x >= 100.f && x <= 110.f)); // means of the inputs
    }
  }
}

TEST_CASE("the calib plugin descriptor lists its stages", "[calib][plugin]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 3);
  CHECK(table->stages[0].name == "calib.electrons");
  CHECK(table->stages[1].name == "calib.demosaic");
  CHECK(table->stages[2].name == "calib.cosmic_rays");
  for (const auto& s : table->stages) CHECK(s.concurrent);
}
