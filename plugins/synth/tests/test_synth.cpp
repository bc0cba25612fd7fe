// Unit tests for the `synth` set: star-field physics (determinism, noise statistics, Bayer
// response, saturation) and the stage classes driven directly with a test context.
//
// Run: build/bin/test_synth   (or ctest -R synth)
// The stages under test are used in pipelines like:
//   - id: sky
//     use: synth.starfield
//     with: {count: 3, seed: 9}
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "starfield.hpp"
#include "synth_stages.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using TestContext = lumen::testing::Context;
using Collect = lumen::testing::Collect;

using lumen::synth::make_starfield;
using lumen::synth::StarfieldSpec;

StarfieldSpec flat_spec() {
  StarfieldSpec s;
  s.stars = 0;
  s.hot_pixels = 0;
  return s;
}

template <typename T> std::vector<double> values(const lumen::Array& a) {
  std::vector<double> out;
  for (const T v : a.view<T>()) out.push_back(static_cast<double>(v));
  return out;
}

std::pair<double, double> mean_var(const std::vector<double>& v) {
  double sum = 0, sum2 = 0;
  for (const double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (const double x : v) sum2 += (x - mean) * (x - mean);
  return {mean, sum2 / static_cast<double>(v.size() - 1)};
}

bool same_bytes(const lumen::Array& a, const lumen::Array& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

} // namespace

TEST_CASE("starfield frames are reproducible from seed and index", "[synth][starfield]") {
  StarfieldSpec spec;
  spec.width = 128;
  spec.height = 96;
  const lumen::Array a = make_starfield(spec, 3);
  const lumen::Array b = make_starfield(spec, 3);
  const lumen::Array c = make_starfield(spec, 4);
  REQUIRE(a.dtype() == lumen::DType::u16);
  REQUIRE(a.shape() == lumen::Shape{96, 128});
  CHECK(same_bytes(a, b));
  CHECK_FALSE(same_bytes(a, c));

  spec.seed = 2;
  CHECK_FALSE(same_bytes(a, make_starfield(spec, 3)));
}

TEST_CASE("the star catalogue depends on the seed only and its first star is the brightest", "[synth][starfield]") {
  StarfieldSpec spec;
  const auto stars = lumen::synth::star_catalogue(spec);
  REQUIRE(stars.size() == 200);
  CHECK(stars[0].peak_e == spec.peak_e_max);
  for (const auto& s : stars) {
    CHECK(s.peak_e <= spec.peak_e_max);
    CHECK(s.peak_e >= spec.peak_e_max / 1000.0 - 1e-9);
    CHECK(s.x >= -0.5);
    CHECK(s.x < static_cast<double>(spec.width) - 0.5);
  }
  spec.seed = 5;
  CHECK(lumen::synth::star_catalogue(spec)[1].x != stars[1].x);
}

TEST_CASE("a star-free frame has mean bias + sky/gain and Poisson plus read-noise variance", "[synth][starfield]") {
  StarfieldSpec spec = flat_spec();
  const double expect_mean = spec.bias_adu + spec.sky_e / spec.gain_e_per_adu;
  const double expect_var =
      (spec.sky_e + spec.read_noise_e * spec.read_noise_e) / (spec.gain_e_per_adu * spec.gain_e_per_adu);

  SECTION("f32") {
    spec.dtype = lumen::DType::f32;
    const auto [mean, var] = mean_var(values<float>(make_starfield(spec, 0)));
    CHECK(mean == Approx(expect_mean).margin(0.05));
    CHECK(var == Approx(expect_var).epsilon(0.03));
  }
  SECTION("u16 adds the rounding variance of 1/12") {
    const auto [mean, var] = mean_var(values<std::uint16_t>(make_starfield(spec, 1)));
    CHECK(mean == Approx(expect_mean).margin(0.05));
    CHECK(var == Approx(expect_var + 1.0 / 12.0).epsilon(0.03));
  }
  SECTION("without read noise the variance is the Poisson variance") {
    spec.dtype = lumen::DType::f32;
    spec.read_noise_e = 0;
    spec.sky_e = 400;
    const auto [mean, var] = mean_var(values<float>(make_starfield(spec, 2)));
    CHECK(mean == Approx(spec.bias_adu + 400 / spec.gain_e_per_adu).margin(0.2));
    CHECK(var == Approx(400 / (spec.gain_e_per_adu * spec.gain_e_per_adu)).epsilon(0.03));
  }
}

TEST_CASE("shot noise follows the Poisson distribution at low means", "[synth][starfield]") {
  StarfieldSpec spec = flat_spec();
  spec.sky_e = 3.0;
  spec.read_noise_e = 0;
  spec.gain_e_per_adu = 1;
  spec.bias_adu = 0;
  spec.dtype = lumen::DType::f32;
  const auto v = values<float>(make_starfield(spec, 0));
  const auto [mean, var] = mean_var(v);
  CHECK(mean == Approx(3.0).epsilon(0.01));
  CHECK(var == Approx(3.0).epsilon(0.03));
  std::size_t zeros = 0, fractional = 0;
  for (const double x : v) {
    if (x != std::floor(x)) ++fractional; // electrons are whole numbers
    if (x == 0) ++zeros;
  }
  CHECK(fractional == 0);
  CHECK(static_cast<double>(zeros) / static_cast<double>(v.size()) == Approx(std::exp(-3.0)).epsilon(0.03));
}

TEST_CASE("the brightest star peaks near peak_e_max / gain above the bias", "[synth][starfield]") {
  StarfieldSpec spec;
  spec.stars = 1;
  spec.hot_pixels = 0;
  spec.sky_e = 0;
  spec.read_noise_e = 0;
  spec.dtype = lumen::DType::f32;
  const auto star = lumen::synth::star_catalogue(spec).at(0);
  const lumen::Array frame = make_starfield(spec, 0);
  const auto v = frame.view<float>();
  float peak = 0;
  for (const float x : v) peak = std::max(peak, x);
  // The pixel centre may be up to half a pixel from the star centre: exp(-0.5/(2 sigma^2)).
  const double sigma = spec.fwhm_px / 2.3548;
  const double lowest = spec.bias_adu + spec.peak_e_max / spec.gain_e_per_adu * std::exp(-0.5 / (2 * sigma * sigma));
  CHECK(peak <= spec.bias_adu + spec.peak_e_max / spec.gain_e_per_adu * 1.05);
  CHECK(peak >= lowest * 0.95);
  const auto at = v.at(std::lround(star.y), std::lround(star.x));
  CHECK(at == peak);
}

TEST_CASE("bayer frames carry the RGGB colour response", "[synth][starfield]") {
  StarfieldSpec spec = flat_spec();
  spec.bayer = true;
  spec.sky_e = 10000;
  spec.read_noise_e = 0;
  spec.dtype = lumen::DType::f32;
  spec.bias_adu = 0;
  spec.gain_e_per_adu = 1;
  const lumen::Array frame = make_starfield(spec, 0);
  const auto v = frame.view<float>();
  double site[4] = {0, 0, 0, 0};
  for (std::int64_t y = 0; y < spec.height; ++y)
    for (std::int64_t x = 0; x < spec.width; ++x) site[((y & 1) << 1) | (x & 1)] += v.at(y, x);
  CHECK(site[0] / site[1] == Approx(lumen::synth::kRggbResponse[0]).epsilon(0.01)); // R / G
  CHECK(site[2] / site[1] == Approx(1.0).epsilon(0.01));                            // G / G
  CHECK(site[3] / site[1] == Approx(lumen::synth::kRggbResponse[3]).epsilon(0.01)); // B / G
  CHECK(lumen::synth::rggb_response(0, 0) == lumen::synth::kRggbResponse[0]);
  CHECK(lumen::synth::rggb_response(1, 1) == lumen::synth::kRggbResponse[3]);
}

TEST_CASE("u16 frames saturate at 65535 and hot pixels are stuck high", "[synth][starfield]") {
  StarfieldSpec spec;
  spec.width = spec.height = 64;
  spec.peak_e_max = 1e7;
  spec.stars = 3;
  spec.hot_pixels = 5;
  const lumen::Array frame = make_starfield(spec, 0);
  const auto v = frame.view<std::uint16_t>();
  std::uint16_t top = 0;
  for (const auto x : v) top = std::max(top, x);
  CHECK(top == 65535);
  for (const auto& hp : lumen::synth::hot_pixel_map(spec)) {
    CHECK(v.at(hp.y, hp.x) == static_cast<std::uint16_t>(std::lround(hp.adu)));
    CHECK(hp.adu >= 0.3 * 65535 - 1);
  }
}

TEST_CASE("other dtypes are refused", "[synth][starfield]") {
  StarfieldSpec spec;
  spec.dtype = lumen::DType::u8;
  CHECK_THROWS_AS(make_starfield(spec, 0), lumen::Error);
}

TEST_CASE("synth.starfield plans count units with stable ids and identities", "[synth][stage]") {
  lumen::synth::Starfield stage;
  stage.count.assign(lumen::ParamValue{std::int64_t{3}});
  stage.width.assign(lumen::ParamValue{std::int64_t{32}});
  stage.height.assign(lumen::ParamValue{std::int64_t{16}});
  stage.validate();
  const auto units = stage.plan();
  REQUIRE(units.size() == 3);
  CHECK(units[0].id == "starfield/0000");
  CHECK(units[2].id == "starfield/0002");
  CHECK(units[2].index == 2);
  CHECK(units[0].source_file.empty());
  CHECK(units[0].identity != units[1].identity);
  CHECK(units[1].identity.find("seed=1") != std::string::npos);
  CHECK(units[1].identity.find("width=32") != std::string::npos);
  CHECK(units[1].identity.find("index=1") != std::string::npos);

  // Frame i does not depend on how many frames are made.
  stage.count.assign(lumen::ParamValue{std::int64_t{5}});
  CHECK(stage.plan()[2].identity == units[2].identity);
  stage.seed.assign(lumen::ParamValue{std::int64_t{2}});
  CHECK(stage.plan()[2].identity != units[2].identity);

  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  Collect out;
  stage.read(units[1], out);
  REQUIRE(out.items.size() == 1);
  const lumen::Item& item = out.items[0];
  CHECK(item.id() == "starfield/0001");
  CHECK(item.array("image").shape() == lumen::Shape{16, 32});
  CHECK(item.meta.get_string("units") == "adu");
  CHECK(item.meta.get_string("cfa") == "none");
  CHECK(item.meta.get_string("domain") == "astronomy");
  CHECK(item.meta.get_number("gain_e_per_adu") == 1.5);
  CHECK(item.meta.get_number("read_noise_e") == 5.0);
  CHECK(item.meta.get_number("bias_adu") == 100.0);
  CHECK(item.meta.get_int("index") == 1);
  CHECK(item.meta.get_int("seed") == 2);
  CHECK(item.provenance.source_file.empty());
}

TEST_CASE("synth.starfield defaults match the physics defaults and bayer sets cfa", "[synth][stage]") {
  lumen::synth::Starfield stage;
  const StarfieldSpec s = stage.spec();
  const StarfieldSpec d;
  CHECK(s.width == d.width);
  CHECK(s.fwhm_px == d.fwhm_px);
  CHECK(s.gain_e_per_adu == d.gain_e_per_adu);
  CHECK(s.dtype == lumen::DType::u16);

  stage.bayer.assign(lumen::ParamValue{true});
  stage.dtype.assign(lumen::ParamValue{std::string("f32")});
  stage.width.assign(lumen::ParamValue{std::int64_t{8}});
  stage.height.assign(lumen::ParamValue{std::int64_t{8}});
  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  Collect out;
  stage.read(stage.plan().at(0), out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].meta.get_string("cfa") == "RGGB");
  CHECK(out.items[0].array("image").dtype() == lumen::DType::f32);
}

TEST_CASE("synth.starfield refuses more hot pixels than pixels", "[synth][stage]") {
  lumen::synth::Starfield stage;
  stage.width.assign(lumen::ParamValue{std::int64_t{2}});
  stage.height.assign(lumen::ParamValue{std::int64_t{2}});
  CHECK_THROWS_AS(stage.validate(), lumen::ConfigError);
}

TEST_CASE("synth.items makes one tiny item per unit filled with its index", "[synth][stage]") {
  lumen::synth::Items stage;
  stage.count.assign(lumen::ParamValue{std::int64_t{300}});
  const auto units = stage.plan();
  REQUIRE(units.size() == 300);
  CHECK(units[299].id == "items/000299");
  TestContext ctx;
  stage.attach(ctx);
  stage.start();
  Collect out;
  stage.read(units[299], out);
  REQUIRE(out.items.size() == 1);
  const auto& img = out.items[0].array("image");
  CHECK(img.shape() == lumen::Shape{8, 8});
  for (const auto v : img.view<std::uint8_t>()) CHECK(v == 299 % 256);
  CHECK(out.items[0].meta.get_int("index") == 299);
}

TEST_CASE("synth.noop passes items on unchanged", "[synth][stage]") {
  lumen::synth::Noop noop;
  Collect out;
  lumen::Item a("a");
  lumen::Item b("b");
  noop.process(a, out);
  noop.process(b, out);
  REQUIRE(out.items.size() == 2);
  CHECK(out.items[0].id() == "a");
  CHECK(out.items[1].id() == "b");
}

TEST_CASE("the synth plugin descriptor lists every stage", "[synth][plugin]") {
  const LumenPluginDescriptor* d = lumen_plugin_descriptor();
  REQUIRE(d != nullptr);
  CHECK(std::string(d->set_name) == "synth");
  const auto* table = static_cast<const lumen::StageTable*>(d->stage_table);
  std::vector<std::string> names;
  for (const auto& f : table->stages) {
    names.push_back(f.name);
    CHECK_FALSE(f.summary.empty());
    CHECK(f.doc.find("Example") != std::string::npos);
    CHECK(f.concurrent);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
  CHECK(names == std::vector<std::string>{"synth.starfield", "synth.items", "synth.noop", "synth.photon_movie",
                                          "synth.ptycho_scan", "synth.multidomain"});
}

TEST_CASE("synth.photon_movie emits blocks of frames with their first index and the truth", "[synth][photon]") {
  lumen::synth::PhotonMovie movie;
  movie.frames.assign(lumen::ParamValue{std::int64_t{25}});
  movie.frames_per_item.assign(lumen::ParamValue{std::int64_t{10}});
  movie.width.assign(lumen::ParamValue{std::int64_t{24}});
  movie.height.assign(lumen::ParamValue{std::int64_t{16}});
  movie.gain.assign(lumen::ParamValue{3.0});
  lumen::testing::Context ctx;
  const auto items = lumen::testing::read_all(movie, ctx);
  REQUIRE(items.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(items[i].meta.get_int("index") == static_cast<std::int64_t>(i) * 10);
    CHECK(items[i].meta.get_int("file_index") == 0);
    CHECK(items[i].meta.get_number("true_gain") == 3.0);
    CHECK(items[i].meta.get_string("units") == "adu");
    CHECK(items[i].array("image").shape() == lumen::Shape{i < 2 ? 10 : 5, 16, 24});
  }
  lumen::synth::PhotonMovie bad;
  bad.lambda_min.assign(lumen::ParamValue{50.0});
  bad.lambda_max.assign(lumen::ParamValue{10.0});
  CHECK_THROWS_AS(bad.validate(), lumen::ConfigError);
}

TEST_CASE("synth.ptycho_scan: diffraction blocks with positions, shared dark and flat, reproducible",
          "[synth][ptycho]") {
  lumen::synth::PtychoScanSpec spec;
  spec.size = 32;
  spec.positions = 9;
  spec.frames_per_pos = 2;
  spec.spiral = false;
  spec.photons = 2e5;
  spec.sat_adu = 3000;
  const lumen::synth::PtychoScene scene(spec);
  const auto all = lumen::synth::render_ptycho_frames(scene, 0, 18);
  const auto part = lumen::synth::render_ptycho_frames(scene, 6, 10);
  CHECK(all.frames.shape() == lumen::Shape{18, 32, 32});
  CHECK(lumen::test::same_pixels(all.frames.slice(6, 10).contiguous_copy(), part.frames));
  CHECK(lumen::test::same_pixels(all.pos.slice(6, 10).contiguous_copy(), part.pos));
  const auto pos = all.pos.view<double>();
  // Exposures of one position share its coordinates; a 3 x 3 raster centred on 0.
  for (int f = 0; f < 18; f += 2) {
    CHECK(pos.at(f, 0) == pos.at(f + 1, 0));
    CHECK(pos.at(f, 1) == pos.at(f + 1, 1));
  }
  CHECK(pos.at(8, 0) == Approx(0.0).margin(1e-15)); // position 4: the centre of the raster
  CHECK(pos.at(0, 0) == Approx(-spec.step()));
  // Photons land around the zero frequency at (size/2, size/2); the central peak saturates.
  const auto img = all.frames.view<std::uint16_t>();
  double total = 0, cy = 0, cx = 0;
  std::uint16_t peak = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const double v = img.at(0, y, x) - 100.0; // minus the dark level
      total += v;
      cy += v * y;
      cx += v * x;
      peak = std::max(peak, img.at(0, y, x));
    }
  CHECK(std::abs(cy / total - 16) < 2);
  CHECK(std::abs(cx / total - 16) < 2);
  CHECK(peak == 3000);
  // Different positions give different patterns; the same position's exposures differ by noise only.
  CHECK_FALSE(
      lumen::test::same_pixels(all.frames.slice(0, 1).contiguous_copy(), all.frames.slice(2, 3).contiguous_copy()));

  lumen::synth::PtychoScan stage;
  stage.positions.assign(lumen::ParamValue{std::int64_t{5}});
  stage.frames_per_pos.assign(lumen::ParamValue{std::int64_t{2}});
  stage.frames_per_item.assign(lumen::ParamValue{std::int64_t{5}}); // rounded down to 4
  stage.size.assign(lumen::ParamValue{std::int64_t{16}});
  TestContext ctx;
  const auto items = lumen::testing::read_all(stage, ctx);
  REQUIRE(items.size() == 3);
  CHECK(items[0].array("image").dim(0) == 4);
  CHECK(items[2].array("image").dim(0) == 2);
  CHECK(items[1].meta.get_int("index") == 4);
  CHECK(items[1].meta.get_int("scan_frames") == 10);
  CHECK(items[0].array("dark").raw() == items[2].array("dark").raw()); // shared, not copied
  CHECK(items[0].meta.get_number("energy_eV") == 700.0);
}

TEST_CASE("synth.multidomain: the SID, BioSR and HLA trees with matching clean/noisy scenes", "[synth][multidomain]") {
  TestContext ctx;
  lumen::synth::Multidomain photo;
  photo.scenes.assign(lumen::ParamValue{std::int64_t{1}});
  photo.photo_height.assign(lumen::ParamValue{std::int64_t{48}});
  photo.photo_width.assign(lumen::ParamValue{std::int64_t{60}});
  auto items = lumen::testing::read_all(photo, ctx);
  std::vector<std::string> paths;
  for (const auto& it : items) paths.push_back(*it.meta.get_string("tree_path"));
  CHECK(paths == std::vector<std::string>{"SID/Sony/short/00001_00_0.04s.dng", "SID/Sony/short/00001_01_0.04s.dng",
                                          "SID/Sony/long/00001_00_10s.dng", "SID/Fuji/short/00001_00_0.04s.dng",
                                          "SID/Fuji/short/00001_01_0.04s.dng", "SID/Fuji/long/00001_00_10s.dng"});
  REQUIRE(items.size() == 6);
  CHECK(items[0].meta.get_string("model") == "ILCE-7SM2");
  CHECK(items[0].meta.get_string("cfa") == "RGGB");
  CHECK(items[0].meta.get_number("iso") == 4000);
  CHECK(items[5].meta.get_string("cfa") == "XTRANS");
  CHECK(items[5].meta.get_string("model") == "X-T30");
  // Same scene, different light: the long frame's mean above black is ~exposure_ratio times the
  // short frame's (in electrons: ADU above black x gain).
  const auto mean_e = [](const lumen::Item& it) {
    const auto v = it.array("image").view<std::uint16_t>();
    double s = 0;
    for (auto x : v) s += x;
    return (s / static_cast<double>(v.size()) - *it.meta.get_number("black_level")) *
           *it.meta.get_number("true_gain_e_per_adu");
  };
  CHECK(mean_e(items[2]) / mean_e(items[0]) == Approx(250).epsilon(0.15));
  // The two noisy shots of a scene differ only by noise.
  CHECK_FALSE(lumen::test::same_pixels(items[0].array("image"), items[1].array("image")));

  lumen::synth::Multidomain micro;
  micro.domain.assign(lumen::ParamValue{std::string("microscopy")});
  micro.scenes.assign(lumen::ParamValue{std::int64_t{1}});
  micro.noisy_per_scene.assign(lumen::ParamValue{std::int64_t{1}});
  micro.micro_size.assign(lumen::ParamValue{std::int64_t{32}});
  items = lumen::testing::read_all(micro, ctx);
  paths.clear();
  for (const auto& it : items) paths.push_back(*it.meta.get_string("tree_path"));
  CHECK(paths == std::vector<std::string>{"microscopy/structures/Microtubules/Cell_01/RawSIMData_gt.mrc",
                                          "microscopy/structures/Microtubules/Cell_01/RawSIMData_level_01.mrc",
                                          "microscopy/structures/ER/Cell_01/GTSIM_level_01.mrc",
                                          "microscopy/structures/ER/Cell_01/RawGTSIMData_level_01.mrc"});
  REQUIRE(items[0].array("image").shape() == lumen::Shape{9, 32, 32});
  // Stripe illumination: the 3 phases of one angle sum to a flat illumination, so frames differ.
  CHECK_FALSE(lumen::test::same_pixels(items[0].array("image").slice(0, 1), items[0].array("image").slice(1, 2)));

  lumen::synth::Multidomain astro;
  astro.domain.assign(lumen::ParamValue{std::string("astronomy")});
  astro.scenes.assign(lumen::ParamValue{std::int64_t{1}});
  astro.astro_size.assign(lumen::ParamValue{std::int64_t{64}});
  items = lumen::testing::read_all(astro, ctx);
  REQUIRE(items.size() == 2);
  CHECK(items[0].meta.get_string("tree_path") == "astronomy/hla_associations/jsyn0001_detection_sci.fits");
  CHECK(items[1].meta.get_string("true_data_type") == "noisy");
  CHECK(items[1].meta.get_string("INSTRUME") == "ACS");
  CHECK(items[1].meta.get_number("READNSEA") == 3.5);
  CHECK(items[0].array("image").dtype() == lumen::DType::f32);

  lumen::synth::Multidomain bad;
  bad.photo_width.assign(lumen::ParamValue{std::int64_t{100}});
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("photo_width") && Catch::Contains("multiple of 6"));
}
