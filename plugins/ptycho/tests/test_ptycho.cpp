// Unit tests for the `ptycho` set: dark/flat/saturation on hand-computed values, every grouping
// mode against hand-computed frames, ROI centres (pixels, fractions, odd and even sizes) and
// its out-of-bounds error, every rotate x flip combination on asymmetric patterns, calibration
// arrays following the frames, parameter errors, and the plugin descriptor. ptycho.write_std is
// tested in test_write_std.cpp.
//
// Run: build/bin/test_ptycho   (or ctest -R ptycho)
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "preprocess.hpp"
#include "ptycho_stages.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

using namespace lumen;
using namespace lumen::ptycho;
using lumen::test::error_of;

namespace {

using Grid = std::vector<std::vector<double>>;
using Collect = lumen::testing::Collect;

template <typename T = float> Array grid(const Grid& g) {
  const auto ny = static_cast<std::int64_t>(g.size()), nx = static_cast<std::int64_t>(g.at(0).size());
  Array a(dtype_of_v<T>, Shape{ny, nx});
  auto v = a.writable<T>();
  for (std::int64_t y = 0; y < ny; ++y)
    for (std::int64_t x = 0; x < nx; ++x) v.at(y, x) = static_cast<T>(g[y][x]);
  return a;
}

template <typename T = float> Array stack(const std::vector<Grid>& frames) {
  const auto n = static_cast<std::int64_t>(frames.size());
  const auto ny = static_cast<std::int64_t>(frames[0].size()), nx = static_cast<std::int64_t>(frames[0][0].size());
  Array a(dtype_of_v<T>, Shape{n, ny, nx});
  auto v = a.writable<T>();
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t y = 0; y < ny; ++y)
      for (std::int64_t x = 0; x < nx; ++x) v.at(k, y, x) = static_cast<T>(frames[k][y][x]);
  return a;
}

// A 2-D array, or frame k of a 3-D one, as a grid of doubles.
Grid to_grid(const Array& a, std::int64_t k = 0) {
  const Array d = a.as(DType::f64);
  const auto v = d.view<double>();
  const int ya = a.ndim() - 2;
  Grid g(static_cast<std::size_t>(a.dim(ya)), std::vector<double>(static_cast<std::size_t>(a.dim(ya + 1))));
  for (std::int64_t y = 0; y < a.dim(ya); ++y)
    for (std::int64_t x = 0; x < a.dim(ya + 1); ++x) g[y][x] = a.ndim() == 3 ? v.at(k, y, x) : v.at(y, x);
  return g;
}

std::vector<Grid> to_stack(const Array& a) {
  std::vector<Grid> out;
  for (std::int64_t k = 0; k < a.dim(0); ++k) out.push_back(to_grid(a, k));
  return out;
}

Array f64_vector(const std::vector<double>& v) {
  Array a(DType::f64, Shape{static_cast<std::int64_t>(v.size())});
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

std::vector<double> values(const Array& a) {
  const Array d = a.as(DType::f64).contiguous_copy();
  const auto v = d.view<double>();
  return {v.begin(), v.end()};
}

template <typename S> void set(Param<S>& p, const S& v) {
  using Stored = std::conditional_t<std::is_same_v<S, int>, std::int64_t, S>;
  p.assign(ParamValue{Stored(v)});
}

lumen::testing::Context& test_context() {
  static lumen::testing::Context ctx;
  return ctx;
}

// Runs `item` through `stage` as the host would (validate, attach, start, process).
Item run(Processor& stage, Item item) {
  stage.validate();
  stage.attach(test_context());
  stage.start();
  Collect out;
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  return std::move(out.items[0]);
}

// "param: message" of the ConfigError validate() throws, or "(no ConfigError)".
std::string config_error(const Stage& stage) {
  try {
    stage.validate();
  } catch (const ConfigError& e) {
    return e.param() + ": " + e.what();
  }
  return "(no ConfigError)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Item scan_item(const std::string& id, Array image, std::int64_t index, std::int64_t scan_frames) {
  Item item(id);
  item.set("image", std::move(image));
  item.meta.set("index", index);
  item.meta.set("file_index", std::int64_t{0});
  item.meta.set("scan_frames", scan_frames);
  return item;
}

} // namespace

// ---- ptycho.dark_flat --------------------------------------------------------------------------

namespace {
// dark, flat (with a 0 and a negative value), an input mask and two raw frames; pixel (0, 0)
// reaches sat = 1000 in frame 1 only.
const Grid kDark = {{10, 10, 10}, {20, 20, 20}};
const Grid kFlat = {{1, 2, 0}, {0.5, -1, 4}};
const Grid kMask = {{0, 1, 0}, {0, 0, 0}};
const std::vector<Grid> kRaw = {{{110, 210, 50}, {70, 30, 420}}, {{1000, 12, 60}, {20, 40, 100}}};

Item calibrated_item() {
  Item item = scan_item("scan/0000", stack<std::uint16_t>(kRaw), 0, 2);
  item.set("dark", grid<std::uint16_t>(kDark));
  item.set("flat", grid<float>(kFlat));
  item.set("mask", grid<std::uint8_t>(kMask));
  return item;
}
} // namespace

TEST_CASE("dark_flat: (raw - dark) / flat with saturation masked and zeroed", "[ptycho][dark_flat]") {
  DarkFlat stage;
  set(stage.sat, 1000.0);
  const Item out = run(stage, calibrated_item());
  const Array& image = out.array("image");
  REQUIRE(image.dtype() == DType::f32);
  REQUIRE(image.shape() == Shape({2, 2, 3}));
  // (0,0) saturated -> 0; (0,1) in the input mask keeps its value; (0,2) flat 0 -> 0; (1,1) flat -1 -> 0.
  CHECK(to_stack(image) == std::vector<Grid>{{{0, 100, 0}, {100, 0, 100}}, {{0, 1, 0}, {0, 0, 20}}});
  CHECK(to_grid(out.array("mask")) == Grid{{1, 1, 1}, {0, 1, 0}});
  CHECK(out.array("mask").dtype() == DType::u8);
  CHECK(out.meta.get_bool("dark_subtracted") == true);
  CHECK(out.meta.get_bool("flat_divided") == true);
  CHECK(out.meta.get_int("saturated_pixels") == 1);
  CHECK(out.meta.get_int("bad_flat_pixels") == 2);
  CHECK(out.meta.get_int("masked_pixels") == 4);
  CHECK(out.meta.get_number("sat_level") == 1000.0);
  CHECK(out.meta.get_string("sat_mode") == "mask");
  // dark and flat pass unchanged (the scan's shared storage).
  CHECK(out.array("dark").dtype() == DType::u16);
  CHECK(to_grid(out.array("flat")) == kFlat);
}

TEST_CASE("dark_flat: sat_mode keep masks saturated pixels but keeps their corrected values", "[ptycho][dark_flat]") {
  DarkFlat stage;
  set(stage.sat, 1000.0);
  set(stage.sat_mode, std::string("keep"));
  const Item out = run(stage, calibrated_item());
  CHECK(to_stack(out.array("image")) == std::vector<Grid>{{{100, 100, 0}, {100, 0, 100}}, {{990, 1, 0}, {0, 0, 20}}});
  CHECK(to_grid(out.array("mask")) == Grid{{1, 1, 1}, {0, 1, 0}});
}

TEST_CASE("dark_flat: saturation is judged on RAW values in any frame, sat 0 is off", "[ptycho][dark_flat]") {
  // Raw 1000 - dark 10 = 990 < sat: still saturated, because the raw value reaches sat.
  DarkFlat stage;
  set(stage.sat, 1000.0);
  Item item = calibrated_item();
  item.remove("flat");
  item.remove("mask");
  Item out = run(stage, std::move(item));
  CHECK(to_grid(out.array("mask")) == Grid{{1, 0, 0}, {0, 0, 0}});
  CHECK(to_stack(out.array("image"))[0] == Grid{{0, 200, 40}, {50, 10, 400}});

  DarkFlat off; // sat 0: no saturation mask, the mask is all zeros (a dark was applied)
  Item item2 = calibrated_item();
  item2.remove("flat");
  item2.remove("mask");
  out = run(off, std::move(item2));
  CHECK(to_grid(out.array("mask")) == Grid{{0, 0, 0}, {0, 0, 0}});
  CHECK(to_stack(out.array("image"))[1] == Grid{{990, 2, 50}, {0, 20, 80}});
  CHECK_FALSE(out.meta.has("sat_level"));
}

TEST_CASE("dark_flat: only what is present and switched on is applied, and meta says so", "[ptycho][dark_flat]") {
  SECTION("dark only, negative results stay negative") {
    DarkFlat stage;
    Item item = scan_item("a", grid<std::int32_t>({{5, 9}}), 0, 1);
    item.set("dark", grid<float>({{7, 1.5}}));
    const Item out = run(stage, std::move(item));
    CHECK(to_grid(out.array("image")) == Grid{{-2, 7.5}});
    CHECK(out.array("image").ndim() == 2); // a single frame keeps its rank
    CHECK(out.meta.get_bool("dark_subtracted") == true);
    CHECK(out.meta.get_bool("flat_divided") == false);
  }
  SECTION("flat only") {
    DarkFlat stage;
    Item item = scan_item("a", stack<std::uint32_t>({{{6, 9}}}), 0, 1);
    item.set("flat", grid<double>({{2, 3}}));
    const Item out = run(stage, std::move(item));
    CHECK(to_stack(out.array("image"))[0] == Grid{{3, 3}});
    CHECK(out.meta.get_bool("dark_subtracted") == false);
    CHECK(out.meta.get_bool("flat_divided") == true);
  }
  SECTION("switched off: the arrays stay but are not applied") {
    DarkFlat stage;
    set(stage.subtract_dark, false);
    set(stage.divide_flat, false);
    Item item = scan_item("a", grid<std::uint16_t>({{6, 9}}), 0, 1);
    item.set("dark", grid<float>({{1, 1}}));
    item.set("flat", grid<float>({{2, 2}}));
    const Item out = run(stage, std::move(item));
    CHECK(to_grid(out.array("image")) == Grid{{6, 9}});
    CHECK(out.array("image").dtype() == DType::f32);
    CHECK(out.meta.get_bool("dark_subtracted") == false);
    CHECK(out.meta.get_bool("flat_divided") == false);
    CHECK_FALSE(out.has("mask")); // nothing applied, no mask before: none made
  }
}

TEST_CASE("dark_flat: flat 0, negative or NaN and non-finite raw values become masked zeros, never inf",
          "[ptycho][dark_flat]") {
  DarkFlat stage;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Item item = scan_item("a", stack<float>({{{4, 4, 4, 4}}, {{8, inf, 8, 8}}}), 0, 2);
  item.set("flat", grid<float>({{0, -2, nan, 2}}));
  const Item out = run(stage, std::move(item));
  CHECK(to_stack(out.array("image")) == std::vector<Grid>{{{0, 0, 0, 2}}, {{0, 0, 0, 4}}});
  CHECK(to_grid(out.array("mask")) == Grid{{1, 1, 1, 0}});
  for (const double v : values(out.array("image"))) CHECK(std::isfinite(v));
  CHECK(out.meta.get_int("bad_flat_pixels") == 3);

  // A NaN raw value masks its pixel: 0 in every frame of the item, like a saturated one.
  DarkFlat plain;
  Item item2 = scan_item("b", stack<float>({{{1, nan}}, {{2, 3}}}), 0, 2);
  const Item out2 = run(plain, std::move(item2));
  CHECK(to_grid(out2.array("mask")) == Grid{{0, 1}});
  CHECK(to_stack(out2.array("image")) == std::vector<Grid>{{{1, 0}}, {{2, 0}}});
}

TEST_CASE("dark_flat: an existing mask of any dtype is OR-combined and stays shared when nothing is added",
          "[ptycho][dark_flat]") {
  SECTION("i32 mask with values 0 and 5 becomes u8 0/1, OR-ed with saturation") {
    DarkFlat stage;
    set(stage.sat, 100.0);
    Item item = scan_item("a", grid<std::uint16_t>({{100, 1, 2}}), 0, 1);
    item.set("mask", grid<std::int32_t>({{0, 0, 5}}));
    const Item out = run(stage, std::move(item));
    CHECK(out.array("mask").dtype() == DType::u8);
    CHECK(to_grid(out.array("mask")) == Grid{{1, 0, 1}});
    CHECK(out.meta.get_int("masked_pixels") == 2);
  }
  SECTION("a u8 0/1 mask with nothing new flagged passes with its storage") {
    DarkFlat stage;
    Item item = scan_item("a", grid<std::uint16_t>({{100, 1, 2}}), 0, 1);
    const Array mask = grid<std::uint8_t>({{0, 1, 0}});
    item.set("mask", mask);
    const Item out = run(stage, std::move(item));
    CHECK(out.array("mask").raw() == mask.raw());
  }
}

TEST_CASE("dark_flat: refuses double correction and calibration arrays of the wrong shape", "[ptycho][dark_flat]") {
  DarkFlat stage;
  Item item = calibrated_item();
  item.meta.set("dark_subtracted", true);
  CHECK(contains(error_of([&] { (void)run(stage, item); }), "already dark-subtracted"));

  Item bad = calibrated_item();
  bad.set("dark", grid<float>({{1, 2}, {3, 4}}));
  const std::string e = error_of([&] { (void)run(stage, bad); });
  CHECK(contains(e, "item 'scan/0000'"));
  CHECK(contains(e, "\"dark\" has shape"));
  CHECK(contains(e, "2 x 3"));
}

// ---- ptycho.group ------------------------------------------------------------------------------

namespace {
// Six frames of 1 x 3, medians 2, 4, 2, 1, 5, 3.
const std::vector<Grid> kSix = {{{1, 2, 3}}, {{4, 0, 9}}, {{2, 2, 2}}, {{0, 8, 1}}, {{5, 5, 5}}, {{7, 1, 3}}};

Item six_frames(std::int64_t index = 0, std::int64_t scan_frames = 6) {
  Item item = scan_item("scan/0000", stack<std::uint16_t>(kSix), index, scan_frames);
  Array pos(DType::f64, Shape{6, 2});
  auto p = pos.writable<double>();
  for (std::int64_t k = 0; k < 6; ++k) {
    p.at(k, 0) = 1e-6 * static_cast<double>(k / 2); // rows equal in pairs (not in triples)
    p.at(k, 1) = -2e-6 * static_cast<double>(k / 2);
  }
  item.set("pos", pos);
  item.set("exposure_s", f64_vector({0.1, 0.2, 0.1, 0.1, 0.3, 0.1}));
  item.set("energy_eV", f64_vector({700, 701, 702, 703, 704, 705}));
  item.meta.set("exposure_s", 0.1);
  return item;
}

Item grouped(const std::string& mode, std::int64_t fpp, Item item = six_frames()) {
  Group stage;
  set(stage.grouping, mode);
  set(stage.frames_per_pos, fpp);
  return run(stage, std::move(item));
}
} // namespace

TEST_CASE("group: every mode with frames_per_pos 2 against hand-computed frames", "[ptycho][group]") {
  CHECK(to_stack(grouped("sum", 2).array("image")) == std::vector<Grid>{{{5, 2, 12}}, {{2, 10, 3}}, {{12, 6, 8}}});
  CHECK(to_stack(grouped("mean", 2).array("image")) == std::vector<Grid>{{{2.5, 1, 6}}, {{1, 5, 1.5}}, {{6, 3, 4}}});
  CHECK(to_stack(grouped("first", 2).array("image")) == std::vector<Grid>{kSix[0], kSix[2], kSix[4]});
  // medians: (2, 4) -> frame 1, (2, 1) -> frame 2, (5, 3) -> frame 4
  CHECK(to_stack(grouped("best", 2).array("image")) == std::vector<Grid>{kSix[1], kSix[2], kSix[4]});
  CHECK(to_stack(grouped("none", 2).array("image")) == kSix);
}

TEST_CASE("group: every mode with frames_per_pos 3 against hand-computed frames", "[ptycho][group]") {
  CHECK(to_stack(grouped("sum", 3).array("image")) == std::vector<Grid>{{{7, 4, 14}}, {{12, 14, 9}}});
  const auto mean = to_stack(grouped("mean", 3).array("image"));
  REQUIRE(mean.size() == 2);
  const std::vector<double> expect = {7.0 / 3, 4.0 / 3, 14.0 / 3, 4, 14.0 / 3, 3};
  for (std::size_t i = 0; i < 6; ++i) CHECK(mean[i / 3][0][i % 3] == Approx(expect[i]).epsilon(1e-6));
  CHECK(to_stack(grouped("first", 3).array("image")) == std::vector<Grid>{kSix[0], kSix[3]});
  // medians: (2, 4, 2) -> frame 1, (1, 5, 3) -> frame 4
  CHECK(to_stack(grouped("best", 3).array("image")) == std::vector<Grid>{kSix[1], kSix[4]});
}

TEST_CASE("group: output dtypes, shapes and meta", "[ptycho][group]") {
  const Item sum = grouped("sum", 2, six_frames(6, 12));
  CHECK(sum.array("image").dtype() == DType::f32);
  CHECK(sum.array("image").shape() == Shape({3, 1, 3}));
  CHECK(sum.meta.get_int("index") == 3);
  CHECK(sum.meta.get_int("first_frame") == 6);
  CHECK(sum.meta.get_int("scan_frames") == 6);
  CHECK(sum.meta.get_int("frames_per_pos") == 2);
  CHECK(sum.meta.get_string("grouping") == "sum");
  CHECK(sum.meta.get_number("exposure_s") == Approx(0.2)); // two exposures of 0.1 s summed
  CHECK(grouped("mean", 2).array("image").dtype() == DType::f32);
  CHECK(grouped("mean", 2).meta.get_number("exposure_s") == Approx(0.1));
  CHECK(grouped("first", 2).array("image").dtype() == DType::u16);
  CHECK(grouped("best", 3).array("image").dtype() == DType::u16);
  const Item none = grouped("none", 3, six_frames(6, 12));
  CHECK(none.array("image").shape() == Shape({6, 1, 3}));
  CHECK(none.meta.get_int("index") == 6);
  CHECK(none.meta.get_int("scan_frames") == 12);
  CHECK(none.array("pos").dim(0) == 6);
}

TEST_CASE("group: positions and per-frame arrays are reduced with the frames", "[ptycho][group]") {
  const Item sum = grouped("sum", 2);
  CHECK(to_grid(sum.array("pos")) == Grid{{0, 0}, {1e-6, -2e-6}, {2e-6, -4e-6}});
  const auto summed = values(sum.array("exposure_s"));
  REQUIRE(summed.size() == 3);
  CHECK(summed[0] == Approx(0.3));
  CHECK(summed[1] == Approx(0.2));
  CHECK(summed[2] == Approx(0.4));
  CHECK(values(sum.array("energy_eV")) == std::vector<double>{700, 702, 704});
  const Item mean = grouped("mean", 2);
  const auto exposure = values(mean.array("exposure_s"));
  CHECK(exposure[0] == Approx(0.15));
  CHECK(exposure[1] == Approx(0.1));
  CHECK(exposure[2] == Approx(0.2));
  const Item first = grouped("first", 2);
  CHECK(values(first.array("exposure_s")) == std::vector<double>{0.1, 0.1, 0.3});
  CHECK(values(first.array("energy_eV")) == std::vector<double>{700, 702, 704});
  // best takes frames 1, 2, 4: their exposure and energy, but the group's first "pos" row.
  const Item best = grouped("best", 2);
  CHECK(values(best.array("exposure_s")) == std::vector<double>{0.2, 0.1, 0.3});
  CHECK(values(best.array("energy_eV")) == std::vector<double>{701, 702, 704});
  CHECK(to_grid(best.array("pos")) == Grid{{0, 0}, {1e-6, -2e-6}, {2e-6, -4e-6}});
  // dark, flat and mask pass unchanged.
  Item item = six_frames();
  const Array dark = grid<float>({{1, 2, 3}});
  item.set("dark", dark);
  const Item out = grouped("sum", 2, std::move(item));
  CHECK(out.array("dark").raw() == dark.raw());
}

TEST_CASE("group: unequal positions inside a group warn once and take the first row", "[ptycho][group]") {
  Group stage;
  set(stage.frames_per_pos, std::int64_t{3}); // rows differ inside the triples (pairs are equal)
  lumen::testing::Context ctx;
  stage.validate();
  stage.attach(ctx);
  stage.start();
  Collect out;
  Item a = six_frames(), b = six_frames();
  stage.process(a, out);
  stage.process(b, out);
  REQUIRE(out.items.size() == 2);
  CHECK(to_grid(out.items[0].array("pos")) == Grid{{0, 0}, {1e-6, -2e-6}});
  REQUIRE(ctx.logged.size() == 1);
  CHECK(ctx.logged[0].first == LogLevel::warn);
  CHECK(contains(ctx.logged[0].second, "differ by up to 2e-06 m"));
  // fpp 2: the pairs are equal, no warning.
  Group pairs;
  set(pairs.frames_per_pos, std::int64_t{2});
  lumen::testing::Context ctx2;
  pairs.attach(ctx2);
  Item c = six_frames();
  pairs.process(c, out);
  CHECK(ctx2.logged.empty());
}

TEST_CASE("group: best ranks by the clipped lower median of unmasked pixels, ties to the earlier frame",
          "[ptycho][group]") {
  // Lower median: rank floor((m - 1) / 2) of the sorted values.
  CHECK(best_frame_score(grid<std::uint16_t>({{4, 1, 3, 2}}), nullptr, 0) == 2);
  const Array mask = grid<std::uint8_t>({{0, 1, 0, 0}});
  CHECK(best_frame_score(grid<std::uint16_t>({{4, 1, 3, 2}}), &mask, 0) == 3);
  CHECK(best_frame_score(grid<float>({{4, 1, 3, 2}}), nullptr, 2.5) == 2); // 1, 2, 2.5, 2.5
  CHECK(best_frame_score(grid<float>({{NAN, 1, 3}}), nullptr, 0) == 1);
  const Array all = grid<std::uint8_t>({{1, 1}});
  CHECK(best_frame_score(grid<float>({{1, 2}}), &all, 0) == -std::numeric_limits<double>::infinity());

  // Frame 1 has the higher median (10 vs 5); clipped at sat 4 both score 4 and frame 0 wins.
  const std::vector<Grid> two = {{{5, 5, 5}}, {{10, 10, 10}}};
  Item item = scan_item("s", stack<std::uint16_t>(two), 0, 2);
  CHECK(to_stack(grouped("best", 2, item).array("image")) == std::vector<Grid>{two[1]});
  Group clipped;
  set(clipped.grouping, std::string("best"));
  set(clipped.frames_per_pos, std::int64_t{2});
  set(clipped.sat, 4.0);
  CHECK(to_stack(run(clipped, item).array("image")) == std::vector<Grid>{two[0]});
  // The level can also come from meta sat.
  item.meta.set("sat", 4.0);
  CHECK(to_stack(grouped("best", 2, item).array("image")) == std::vector<Grid>{two[0]});
  // A mask excluding the high pixels changes the ranking.
  Item masked = scan_item("m", stack<std::uint16_t>({{{9, 9, 1}}, {{1, 1, 5}}}), 0, 2);
  masked.set("mask", grid<std::uint8_t>({{1, 1, 0}}));
  CHECK(to_stack(grouped("best", 2, masked).array("image")) == std::vector<Grid>{{{1, 1, 5}}});
}

TEST_CASE("group: N not a multiple of frames_per_pos fails with N, frames_per_pos and the remainder",
          "[ptycho][group]") {
  const std::string e = error_of([] { (void)grouped("sum", 3, six_frames(0, 10)); });
  CHECK(contains(e, "item 'scan/0000'"));
  CHECK(contains(e, "N = 10"));
  CHECK(contains(e, "frames_per_pos = 3"));
  CHECK(contains(e, "remainder 1"));
  // none checks N too.
  CHECK(contains(error_of([] { (void)grouped("none", 4, six_frames(0, 6)); }), "remainder 2"));
  // fpp 1 accepts any N.
  CHECK_NOTHROW(grouped("sum", 1, six_frames(0, 7)));
}

TEST_CASE("group: a block that is not whole positions fails", "[ptycho][group]") {
  // 6 frames with frames_per_pos 4 in a scan of 12.
  const std::string e = error_of([] { (void)grouped("mean", 4, six_frames(0, 12)); });
  CHECK(contains(e, "holds 6 frames"));
  CHECK(contains(e, "not a multiple of frames_per_pos = 4"));
  CHECK(contains(e, "remainder 2"));
  CHECK(contains(e, "readers plan blocks in multiples"));
  // A block that starts inside a position.
  const std::string s = error_of([] { (void)grouped("sum", 2, six_frames(3, 12)); });
  CHECK(contains(s, "starts at scan frame 3"));
  // "pos" with the wrong number of rows.
  Item item = six_frames();
  item.set("pos", Array(DType::f64, Shape{5, 2}));
  CHECK(contains(error_of([&] { (void)grouped("sum", 2, item); }), "expected (6, 2)"));
}

TEST_CASE("group: items without pos or per-frame arrays and single frames", "[ptycho][group]") {
  Item item = scan_item("s", stack<std::int32_t>(kSix), 0, 6);
  const Item out = grouped("sum", 3, std::move(item));
  CHECK_FALSE(out.has("pos"));
  CHECK(out.array("image").shape() == Shape({2, 1, 3}));
  // No scan_frames in meta: only the block is checked.
  Item bare("x");
  bare.set("image", stack<float>(kSix));
  CHECK(grouped("first", 2, std::move(bare)).array("image").shape() == Shape({3, 1, 3}));
  // A 2-D image is one frame: fine with fpp 1.
  const Item one = grouped("first", 1, scan_item("y", grid<float>({{1, 2}}), 0, 1));
  CHECK(to_grid(one.array("image")) == Grid{{1, 2}});
}

// ---- ptycho.roi --------------------------------------------------------------------------------

namespace {
// An 8 x 10 frame with value 100 * row + column (+ offset), so every pixel says where it is.
Array coordinates(std::int64_t ny, std::int64_t nx, double offset = 0) {
  Grid g(static_cast<std::size_t>(ny), std::vector<double>(static_cast<std::size_t>(nx)));
  for (std::int64_t y = 0; y < ny; ++y)
    for (std::int64_t x = 0; x < nx; ++x) g[y][x] = 100.0 * static_cast<double>(y) + static_cast<double>(x) + offset;
  return grid<float>(g);
}

// Rows y0.. and columns x0.. of `coordinates`, as a grid.
Grid window(std::int64_t y0, std::int64_t x0, std::int64_t ny, std::int64_t nx, double offset = 0) {
  Grid g(static_cast<std::size_t>(ny), std::vector<double>(static_cast<std::size_t>(nx)));
  for (std::int64_t y = 0; y < ny; ++y)
    for (std::int64_t x = 0; x < nx; ++x)
      g[y][x] = 100.0 * static_cast<double>(y0 + y) + static_cast<double>(x0 + x) + offset;
  return g;
}

Item cropped(const std::vector<std::int64_t>& roi, const std::vector<double>& center, Item item) {
  Roi stage;
  set(stage.roi, roi);
  set(stage.roi_center, center);
  return run(stage, std::move(item));
}

Item frame_item(std::int64_t ny, std::int64_t nx) {
  return scan_item("f", coordinates(ny, nx), 0, 1);
}
} // namespace

TEST_CASE("roi_window: the documented rounding for pixel and fraction centres, odd and even sizes", "[ptycho][roi]") {
  const auto win = [](std::int64_t fy, std::int64_t fx, std::vector<std::int64_t> roi, std::vector<double> c) {
    const RoiWindow w = roi_window(fy, fx, roi, c, "t");
    return std::vector<std::int64_t>{w.y0, w.x0, w.ny, w.nx};
  };
  // Pixel centre (4, 4): even size 4 -> start 2 (the centre pixel at index 2 = 4/2), odd 3 -> start 3 (index 1).
  CHECK(win(8, 10, {4, 3}, {4, 4}) == std::vector<std::int64_t>{2, 3, 4, 3});
  CHECK(win(8, 10, {3, 4}, {4, 4}) == std::vector<std::int64_t>{3, 2, 3, 4});
  // Fractions: [0.25, 0.5] of 8 x 10 -> centre (2, 5).
  CHECK(win(8, 10, {2, 4}, {0.25, 0.5}) == std::vector<std::int64_t>{1, 3, 2, 4});
  // Default = [0.5, 0.5]: symmetric when frame - roi is even; odd frame 7, roi 3 -> rows 2..4.
  CHECK(win(8, 10, {4, 4}, {}) == std::vector<std::int64_t>{2, 3, 4, 4});
  CHECK(win(7, 7, {3, 3}, {}) == std::vector<std::int64_t>{2, 2, 3, 3});
  CHECK(win(7, 7, {4, 2}, {}) == std::vector<std::int64_t>{2, 3, 4, 2}); // 3.5 - 2 + 0.5 = 2; 3.5 - 1 + 0.5 = 3
  // Half-pixel centres round half up: 4.5 - 1.5 + 0.5 = 3.5 -> 3.
  CHECK(win(8, 10, {3, 3}, {4.5, 4.5}) == std::vector<std::int64_t>{3, 3, 3, 3});
  // Fractions only when BOTH are in [0, 1): [0.5, 2] is the pixel (0.5, 2).
  const RoiWindow mixed = roi_window(8, 10, {1, 1}, {0.5, 2}, "t");
  CHECK_FALSE(mixed.fractions);
  CHECK(mixed.y0 == 0);
  CHECK(mixed.x0 == 2);
  CHECK(roi_window(8, 10, {1, 1}, {0.5, 0.5}, "t").fractions);
  // The whole frame.
  CHECK(win(8, 10, {8, 10}, {}) == std::vector<std::int64_t>{0, 0, 8, 10});
}

TEST_CASE("roi: crops frames at pixel and fraction centres", "[ptycho][roi]") {
  CHECK(to_grid(cropped({4, 3}, {4, 4}, frame_item(8, 10)).array("image")) == window(2, 3, 4, 3));
  // Odd roi around pixel (4, 4): the centre pixel (value 404) at index (1, 1).
  const Grid odd = to_grid(cropped({3, 3}, {4, 4}, frame_item(8, 10)).array("image"));
  CHECK(odd == window(3, 3, 3, 3));
  CHECK(odd[1][1] == 404);
  // Even roi: the centre pixel at index (2, 2).
  const Grid even = to_grid(cropped({4, 4}, {4, 4}, frame_item(8, 10)).array("image"));
  CHECK(even[2][2] == 404);
  CHECK(to_grid(cropped({2, 4}, {0.25, 0.5}, frame_item(8, 10)).array("image")) == window(1, 3, 2, 4));
  CHECK(to_grid(cropped({4, 4}, {}, frame_item(8, 10)).array("image")) == window(2, 3, 4, 4));
  // A 3-D block: every frame cropped the same way; the result is contiguous.
  Array block(DType::u16, Shape{2, 8, 10});
  auto b = block.writable<std::uint16_t>();
  for (std::int64_t k = 0; k < 2; ++k)
    for (std::int64_t y = 0; y < 8; ++y)
      for (std::int64_t x = 0; x < 10; ++x) b.at(k, y, x) = static_cast<std::uint16_t>(1000 * k + 100 * y + x);
  const Item out = cropped({3, 2}, {5, 7}, scan_item("b", block, 0, 2));
  const Array& image = out.array("image");
  CHECK(image.dtype() == DType::u16);
  CHECK(image.contiguous());
  CHECK(to_grid(image, 0) == window(4, 6, 3, 2));
  CHECK(to_grid(image, 1) == window(4, 6, 3, 2, 1000));
  CHECK(out.meta.get_list("roi_origin") == std::vector<double>{4, 6});
  CHECK(out.meta.get_list("roi_shape") == std::vector<double>{3, 2});
}

TEST_CASE("roi: dark, flat and mask are cropped identically, pos is untouched", "[ptycho][roi]") {
  Item item = frame_item(8, 10);
  item.set("dark", coordinates(8, 10, 10000));
  item.set("flat", coordinates(8, 10, 20000).as(DType::f64));
  Array mask(DType::u8, Shape{8, 10});
  mask.writable<std::uint8_t>().at(5, 7) = 1;
  item.set("mask", mask);
  const Array pos(DType::f64, Shape{1, 2});
  item.set("pos", pos);
  const Item out = cropped({3, 2}, {5, 7}, std::move(item));
  CHECK(to_grid(out.array("image")) == window(4, 6, 3, 2));
  CHECK(to_grid(out.array("dark")) == window(4, 6, 3, 2, 10000));
  CHECK(to_grid(out.array("flat")) == window(4, 6, 3, 2, 20000));
  CHECK(out.array("flat").dtype() == DType::f64);
  CHECK(to_grid(out.array("mask")) == Grid{{0, 0}, {0, 1}, {0, 0}});
  CHECK(out.array("pos").raw() == pos.raw());
  // A second ROI accumulates the origin.
  const Item again = cropped({1, 1}, {1, 1}, Item(out));
  CHECK(again.meta.get_list("roi_origin") == std::vector<double>{5, 7});
  CHECK(to_grid(again.array("image")) == Grid{{507}});
  CHECK(to_grid(again.array("mask")) == Grid{{1}});
}

TEST_CASE("roi: the whole frame passes without a copy", "[ptycho][roi]") {
  Item item = frame_item(4, 4);
  const Array before = item.array("image");
  const Item out = cropped({4, 4}, {}, std::move(item));
  CHECK(out.array("image").raw() == before.raw());
}

TEST_CASE("roi: out of bounds fails naming frame size, roi, centre and the bounds", "[ptycho][roi]") {
  const std::string e = error_of([] { (void)cropped({4, 4}, {1, 4}, frame_item(8, 10)); });
  CHECK(contains(e, "item 'f'"));
  CHECK(contains(e, "roi [4, 4]"));
  CHECK(contains(e, "centred at (1, 4) pixels"));
  CHECK(contains(e, "rows -1..2"));
  CHECK(contains(e, "columns 2..5"));
  CHECK(contains(e, "8 x 10 frame"));
  CHECK(contains(e, "rows 0..7, columns 0..9"));
  const std::string f = error_of([] { (void)cropped({4, 6}, {0.5, 0.9}, frame_item(8, 10)); });
  CHECK(contains(f, "(4, 9) pixels"));
  CHECK(contains(f, "roi_center [0.5, 0.9] as fractions"));
  CHECK(contains(f, "columns 6..11"));
  CHECK(contains(error_of([] { (void)cropped({9, 2}, {}, frame_item(8, 10)); }), "the frame centre"));
  // A calibration array of another size is refused.
  Item item = frame_item(8, 10);
  item.set("dark", coordinates(8, 9));
  CHECK(contains(error_of([&] { (void)cropped({2, 2}, {}, item); }), "\"dark\" has shape"));
}

// ---- ptycho.orient -----------------------------------------------------------------------------

namespace {
struct Case {
  int rotate;
  const char* flip;
  Grid expect;
};
// Expected arrays written out by hand (and agreeing with numpy: flip(rot90(a, rotate / 90))).
const Grid k3x2 = {{1, 2}, {3, 4}, {5, 6}};
const std::vector<Case> k3x2Cases = {
    {0, "none", {{1, 2}, {3, 4}, {5, 6}}},   {0, "h", {{2, 1}, {4, 3}, {6, 5}}},
    {0, "v", {{5, 6}, {3, 4}, {1, 2}}},      {0, "hv", {{6, 5}, {4, 3}, {2, 1}}},
    {90, "none", {{2, 4, 6}, {1, 3, 5}}},    {90, "h", {{6, 4, 2}, {5, 3, 1}}},
    {90, "v", {{1, 3, 5}, {2, 4, 6}}},       {90, "hv", {{5, 3, 1}, {6, 4, 2}}},
    {180, "none", {{6, 5}, {4, 3}, {2, 1}}}, {180, "h", {{5, 6}, {3, 4}, {1, 2}}},
    {180, "v", {{2, 1}, {4, 3}, {6, 5}}},    {180, "hv", {{1, 2}, {3, 4}, {5, 6}}},
    {270, "none", {{5, 3, 1}, {6, 4, 2}}},   {270, "h", {{1, 3, 5}, {2, 4, 6}}},
    {270, "v", {{6, 4, 2}, {5, 3, 1}}},      {270, "hv", {{2, 4, 6}, {1, 3, 5}}},
};
// An upright L (4 rows x 3 columns) with distinct values along it.
const Grid kL = {{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 5, 6}};
const std::vector<Case> kLCases = {
    {0, "none", {{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 5, 6}}},
    {0, "h", {{0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {6, 5, 4}}},
    {0, "v", {{4, 5, 6}, {3, 0, 0}, {2, 0, 0}, {1, 0, 0}}},
    {0, "hv", {{6, 5, 4}, {0, 0, 3}, {0, 0, 2}, {0, 0, 1}}},
    {90, "none", {{0, 0, 0, 6}, {0, 0, 0, 5}, {1, 2, 3, 4}}},
    {90, "h", {{6, 0, 0, 0}, {5, 0, 0, 0}, {4, 3, 2, 1}}},
    {90, "v", {{1, 2, 3, 4}, {0, 0, 0, 5}, {0, 0, 0, 6}}},
    {90, "hv", {{4, 3, 2, 1}, {5, 0, 0, 0}, {6, 0, 0, 0}}},
    {180, "none", {{6, 5, 4}, {0, 0, 3}, {0, 0, 2}, {0, 0, 1}}},
    {180, "h", {{4, 5, 6}, {3, 0, 0}, {2, 0, 0}, {1, 0, 0}}},
    {180, "v", {{0, 0, 1}, {0, 0, 2}, {0, 0, 3}, {6, 5, 4}}},
    {180, "hv", {{1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 5, 6}}},
    {270, "none", {{4, 3, 2, 1}, {5, 0, 0, 0}, {6, 0, 0, 0}}},
    {270, "h", {{1, 2, 3, 4}, {0, 0, 0, 5}, {0, 0, 0, 6}}},
    {270, "v", {{6, 0, 0, 0}, {5, 0, 0, 0}, {4, 3, 2, 1}}},
    {270, "hv", {{0, 0, 0, 6}, {0, 0, 0, 5}, {1, 2, 3, 4}}},
};

Item oriented(int rotate, const std::string& flip, Item item) {
  Orient stage;
  set(stage.rotate, rotate);
  set(stage.flip, flip);
  return run(stage, std::move(item));
}

Grid negated(Grid g, double offset) {
  for (auto& row : g)
    for (auto& v : row) v = offset - v;
  return g;
}
} // namespace

TEST_CASE("orient: every rotate x flip on a 3 x 2 frame against hand-written arrays", "[ptycho][orient]") {
  for (const Case& c : k3x2Cases) {
    INFO("rotate " << c.rotate << " flip " << c.flip);
    CHECK(to_grid(orient(grid<std::uint16_t>(k3x2), c.rotate, parse_flip(c.flip))) == c.expect);
    CHECK(to_grid(oriented(c.rotate, c.flip, scan_item("a", grid<float>(k3x2), 0, 1)).array("image")) == c.expect);
  }
}

TEST_CASE("orient: every rotate x flip on an L shape, for a block and its dark, flat and mask", "[ptycho][orient]") {
  for (const Case& c : kLCases) {
    INFO("rotate " << c.rotate << " flip " << c.flip);
    Item item = scan_item("l", stack<std::int32_t>({kL, negated(kL, 100)}), 0, 2);
    item.set("dark", grid<float>(negated(kL, 10)));
    item.set("flat", grid<double>(negated(kL, 20)));
    item.set("mask", grid<std::uint8_t>(kL));
    const Array pos(DType::f64, Shape{2, 2});
    item.set("pos", pos);
    const Item out = oriented(c.rotate, c.flip, std::move(item));
    CHECK(out.array("image").dtype() == DType::i32);
    CHECK(to_grid(out.array("image"), 0) == c.expect);
    CHECK(to_grid(out.array("image"), 1) == negated(c.expect, 100));
    CHECK(to_grid(out.array("dark")) == negated(c.expect, 10));
    CHECK(to_grid(out.array("flat")) == negated(c.expect, 20));
    CHECK(to_grid(out.array("mask")) == c.expect);
    CHECK(out.array("mask").dtype() == DType::u8);
    CHECK(out.array("pos").raw() == pos.raw()); // positions are not changed
    CHECK(out.meta.get_int("orient_rotate") == c.rotate);
    CHECK(out.meta.get_string("orient_flip") == c.flip);
  }
}

TEST_CASE("orient: rotate 90 then flip h, not flip h then rotate 90", "[ptycho][orient]") {
  const Grid done = to_grid(oriented(90, "h", scan_item("a", grid<float>(k3x2), 0, 1)).array("image"));
  const Grid flip_then_rotate = to_grid(orient(orient(grid<float>(k3x2), 0, Flip::h), 90, Flip::none));
  const Grid rotate_then_flip = to_grid(orient(orient(grid<float>(k3x2), 90, Flip::none), 0, Flip::h));
  CHECK(flip_then_rotate == Grid{{1, 3, 5}, {2, 4, 6}});
  CHECK(flip_then_rotate != rotate_then_flip);
  CHECK(done == rotate_then_flip);
  CHECK(done == Grid{{6, 4, 2}, {5, 3, 1}});
}

TEST_CASE("orient: strided views and frames larger than a tile", "[ptycho][orient]") {
  // A crop view (strided) of a 100 x 130 frame, rotated: out(i, j) = a(j, W - 1 - i).
  const Array big = coordinates(100, 130);
  const Array view = big.crop(3, 5, 90, 70);
  REQUIRE_FALSE(view.contiguous());
  const Array r = orient(view, 90, Flip::v);
  REQUIRE(r.shape() == Shape({70, 90}));
  const auto v = r.view<float>();
  bool all = true;
  for (std::int64_t i = 0; i < 70; ++i)
    for (std::int64_t j = 0; j < 90; ++j) {
      // rotate 90 gives a(j, 69 - i); flip v then reads row 69 - i of that: a(j, i).
      const double expect = 100.0 * static_cast<double>(3 + j) + static_cast<double>(5 + i);
      all = all && v.at(i, j) == expect;
    }
  CHECK(all);
  // rotate 0, flip none returns the input itself.
  CHECK(orient(big, 0, Flip::none).raw() == big.raw());
}

// ---- parameters and the plugin -----------------------------------------------------------------

TEST_CASE("bad parameters give a ConfigError naming the parameter", "[ptycho][params]") {
  Orient orient_stage;
  set(orient_stage.rotate, 45);
  CHECK(contains(config_error(orient_stage), "rotate: rotate must be 0, 90, 180 or 270"));
  CHECK(contains(config_error(orient_stage), "got 45"));
  set(orient_stage.rotate, 90);
  CHECK(config_error(orient_stage) == "(no ConfigError)");
  set(orient_stage.flip, std::string("x"));
  CHECK(contains(config_error(orient_stage), "flip: "));

  Roi roi_stage;
  set(roi_stage.roi, std::vector<std::int64_t>{0, 5});
  CHECK(contains(config_error(roi_stage), "roi: roi must be [ny, nx]"));
  CHECK(contains(config_error(roi_stage), "got [0, 5]"));
  set(roi_stage.roi, std::vector<std::int64_t>{4});
  CHECK(contains(config_error(roi_stage), "roi: "));
  set(roi_stage.roi, std::vector<std::int64_t>{4, 4});
  set(roi_stage.roi_center, std::vector<double>{0.5});
  CHECK(contains(config_error(roi_stage), "roi_center: "));
  set(roi_stage.roi_center, std::vector<double>{-1, 3});
  CHECK(contains(config_error(roi_stage), "roi_center: "));
  set(roi_stage.roi_center, std::vector<double>{0.5, 0.5});
  CHECK(config_error(roi_stage) == "(no ConfigError)");

  Group group_stage;
  set(group_stage.frames_per_pos, std::int64_t{0});
  CHECK(contains(config_error(group_stage), "frames_per_pos: frames_per_pos must be >= 1"));
  set(group_stage.frames_per_pos, std::int64_t{2});
  set(group_stage.grouping, std::string("median"));
  CHECK(contains(config_error(group_stage), "grouping: "));
  set(group_stage.grouping, std::string("best"));
  set(group_stage.sat, -1.0);
  CHECK(contains(config_error(group_stage), "sat: "));

  DarkFlat dark_flat_stage;
  set(dark_flat_stage.sat, -5.0);
  CHECK(contains(config_error(dark_flat_stage), "sat: "));
  set(dark_flat_stage.sat, 10.0);
  set(dark_flat_stage.sat_mode, std::string("clip"));
  CHECK(contains(config_error(dark_flat_stage), "sat_mode: "));

  // The declarations refuse the same values before validate (what the pipeline loader checks).
  Orient o;
  Roi r;
  Group g;
  CHECK_FALSE(o.params()[0]->spec().check(ParamValue{std::int64_t{300}}).empty());
  CHECK_FALSE(o.params()[1]->spec().check(ParamValue{std::string("x")}).empty());
  CHECK_FALSE(r.params()[0]->spec().check(ParamValue{std::vector<std::int64_t>{0, 5}}).empty());
  CHECK(r.params()[0]->spec().required());
  CHECK_FALSE(g.params()[0]->spec().check(ParamValue{std::int64_t{0}}).empty());
  CHECK_FALSE(g.params()[1]->spec().check(ParamValue{std::string("median")}).empty());
}

TEST_CASE("a small scan through dark_flat, group, roi and orient stays consistent", "[ptycho][chain]") {
  // 4 frames of 6 x 8, 2 per position; dark 1, flat 2, one saturated pixel.
  Array raw(DType::u16, Shape{4, 6, 8});
  auto v = raw.writable<std::uint16_t>();
  for (std::int64_t k = 0; k < 4; ++k)
    for (std::int64_t y = 0; y < 6; ++y)
      for (std::int64_t x = 0; x < 8; ++x) v.at(k, y, x) = static_cast<std::uint16_t>(1 + 2 * (10 * y + x));
  v.at(1, 2, 5) = 5000;
  Item item = scan_item("scan/0000", raw, 0, 4);
  Array dark(DType::u16, Shape{6, 8});
  for (auto& d : dark.writable<std::uint16_t>()) d = 1;
  Array flat(DType::f32, Shape{6, 8});
  for (auto& f : flat.writable<float>()) f = 2;
  item.set("dark", dark);
  item.set("flat", flat);
  Array pos(DType::f64, Shape{4, 2});
  auto p = pos.writable<double>();
  for (std::int64_t k = 0; k < 4; ++k) p.at(k, 0) = p.at(k, 1) = 1e-6 * static_cast<double>(k / 2);
  item.set("pos", pos);

  DarkFlat calib;
  set(calib.sat, 4000.0);
  Group group;
  set(group.frames_per_pos, std::int64_t{2});
  Roi roi;
  set(roi.roi, std::vector<std::int64_t>{4, 3});
  set(roi.roi_center, std::vector<double>{2, 5});
  Orient turn;
  set(turn.rotate, 90);

  Item out = run(turn, run(roi, run(group, run(calib, std::move(item)))));
  // after dark/flat a pixel is 10 y + x; two exposures summed: 20 y + 2 x; the ROI is rows 0..3,
  // columns 4..6; rotate 90: out(i, j) = roi(j, 2 - i).
  const Array& image = out.array("image");
  REQUIRE(image.shape() == Shape({2, 3, 4}));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t j = 0; j < 4; ++j) {
      const std::int64_t y = j, x = 4 + (2 - i);
      const double expect = (y == 2 && x == 5) ? 0.0 : 20.0 * static_cast<double>(y) + 2.0 * static_cast<double>(x);
      CHECK(to_grid(image, 0)[i][j] == expect);
    }
  // The saturated pixel (2, 5) is at ROI (2, 1) and after rotate 90 at (2 - 1, 2) = (1, 2).
  REQUIRE(out.array("mask").shape() == Shape({3, 4}));
  CHECK(to_grid(out.array("mask")) == Grid{{0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 0}});
  CHECK(out.array("dark").shape() == Shape({3, 4}));
  CHECK(out.array("flat").shape() == Shape({3, 4}));
  CHECK(to_grid(out.array("pos")) == Grid{{0, 0}, {1e-6, 1e-6}});
  CHECK(out.meta.get_int("scan_frames") == 2);
}

TEST_CASE("the ptycho plugin descriptor lists its eleven stages", "[ptycho][plugin]") {
  const LumenPluginDescriptor* d = lumen_plugin_descriptor();
  CHECK(std::string(d->set_name) == "ptycho");
  CHECK(std::string(d->set_version) == "0.1.0");
  const auto* table = static_cast<const StageTable*>(d->stage_table);
  std::vector<std::string> names;
  for (const auto& s : table->stages) {
    names.push_back(s.name);
    const bool writer = names.back() == "ptycho.write_std" || names.back() == "ptycho.write_ad"; // blocks in order
    const bool qc = names.back() == "ptycho.qc_score"; // one unit = a whole scan, with its own threads
    CHECK(s.concurrent == !(writer || qc));
    CHECK(s.ordered_input == writer);
    CHECK(contains(s.doc, "Example:"));
    const auto stage = s.create();
    for (const ParamBase* param : stage->params()) CHECK_FALSE(param->spec().doc.empty());
  }
  CHECK(names == std::vector<std::string>{"ptycho.read_ad", "ptycho.read_cxi", "ptycho.read_tiff_series",
                                          "ptycho.sidecar_from_csv", "ptycho.dark_flat", "ptycho.group", "ptycho.roi",
                                          "ptycho.orient", "ptycho.write_std", "ptycho.write_ad", "ptycho.qc_score"});
}
