// Unit tests for the `tile` set: tile geometry of every mode (the Fuji and Sony examples, overlap
// and valid ratios against a brute-force pixel count), tile statistics and the quality score,
// the md5 split hash against values from python3's hashlib, split proportions, stability and
// no leakage over many scene ids, the four stages driven directly (pixels of every tile, padding,
// labels from file names, pairing, the PNG files, the metadata index and the summary), and bad
// configurations whose errors name the parameter.
//
// Run: build/bin/test_tile   (or ctest -R tile)
// The stages under test are used in pipelines like:
//   - id: tiles
//     use: tile.grid
//     with: {tile_size: 256, mode: cover}
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "png_io.hpp"
#include "tile_geometry.hpp"
#include "tile_index.hpp"
#include "tile_split.hpp"
#include "tile_stages.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace fs = std::filesystem;
using namespace lumen::tile;
using lumen::test::TempDir;
using Starts = std::vector<std::int64_t>;

namespace {

Starts starts(GridMode mode, std::int64_t length, std::int64_t tile, std::int64_t step = 0,
              Remainder remainder = Remainder::drop, ShortAxis short_axis = ShortAxis::pad, std::int64_t n = 1) {
  return axis_starts(mode, length, tile, step > 0 ? step : tile, remainder, short_axis, n, "width");
}

// Brute force: for every tile, the pixels inside the image that some other tile also covers.
void check_ratios_brute_force(const Grid& g) {
  for (std::int64_t gy = 0; gy < g.rows(); ++gy)
    for (std::int64_t gx = 0; gx < g.cols(); ++gx) {
      const TileRect r = g.tile(gy, gx);
      std::int64_t inside = 0, shared = 0;
      for (std::int64_t y = r.y; y < r.y + g.tile_height; ++y)
        for (std::int64_t x = r.x; x < r.x + g.tile_width; ++x) {
          if (y >= g.height || x >= g.width) continue;
          ++inside;
          bool other = false;
          for (std::int64_t oy = 0; oy < g.rows() && !other; ++oy)
            for (std::int64_t ox = 0; ox < g.cols() && !other; ++ox) {
              if (oy == gy && ox == gx) continue;
              const std::int64_t ty = g.ys[static_cast<std::size_t>(oy)], tx = g.xs[static_cast<std::size_t>(ox)];
              other = y >= ty && y < ty + g.tile_height && x >= tx && x < tx + g.tile_width;
            }
          shared += other;
        }
      const double area = static_cast<double>(g.tile_height * g.tile_width);
      INFO("tile " << gy << "," << gx);
      CHECK(r.valid_h * r.valid_w == inside);
      CHECK(r.valid_ratio == Approx(static_cast<double>(inside) / area));
      CHECK(r.overlap_ratio == Approx(static_cast<double>(shared) / area).margin(1e-12));
    }
}

lumen::Array ramp_image(std::int64_t h, std::int64_t w, std::int64_t c = 1) {
  lumen::Array a(lumen::DType::u8, c == 1 ? lumen::Shape{h, w} : lumen::Shape{h, w, c});
  auto v = a.writable<std::uint8_t>();
  std::uint8_t* p = v.data();
  for (std::int64_t y = 0; y < h; ++y)
    for (std::int64_t x = 0; x < w; ++x)
      for (std::int64_t k = 0; k < c; ++k) *p++ = static_cast<std::uint8_t>((y * 7 + x * 3 + k * 50) % 251);
  return a;
}

lumen::Item image_item(const std::string& id, lumen::Array image, const std::string& source = {}) {
  lumen::Item item(id);
  item.set("image", std::move(image));
  item.provenance.source_file = source;
  item.meta.set("domain", "astronomy");
  item.meta.set("units", "normalized");
  return item;
}

// Assigns a parameter as the host would (after its schema check).
void set_param(lumen::Stage& s, const std::string& name, const lumen::ParamValue& v) {
  for (lumen::ParamBase* p : s.params())
    if (p->spec().name == name) {
      const std::string problem = p->spec().check(v);
      if (!problem.empty()) throw lumen::ConfigError(name, problem);
      p->assign(v);
      return;
    }
  FAIL("no parameter " << name);
}

std::string config_error(lumen::Stage& s, std::string* param = nullptr) {
  try {
    s.validate();
  } catch (const lumen::ConfigError& e) {
    if (param) *param = e.param();
    return e.what();
  }
  return "(no ConfigError)";
}

std::vector<lumen::Item> run(lumen::Processor& stage, std::vector<lumen::Item> items, const lumen::Context& ctx) {
  stage.validate();
  stage.attach(ctx);
  stage.start();
  lumen::testing::Collect out;
  for (auto& item : items) stage.process(item, out);
  stage.finish(out);
  return std::move(out.items);
}

} // namespace

// ---- geometry ----------------------------------------------------------------------------------

TEST_CASE("tile: stride layout: fixed steps, remainder dropped or padded", "[tile][geometry]") {
  CHECK(starts(GridMode::stride, 1000, 256) == Starts{0, 256, 512});
  CHECK(starts(GridMode::stride, 1000, 256, 0, Remainder::pad) == Starts{0, 256, 512, 768});
  CHECK(starts(GridMode::stride, 1024, 256, 0, Remainder::pad) == Starts{0, 256, 512, 768}); // nothing left
  CHECK(starts(GridMode::stride, 512, 256, 128) == Starts{0, 128, 256});
  CHECK(starts(GridMode::stride, 600, 256, 400, Remainder::pad) == Starts{0, 400});
  CHECK(starts(GridMode::stride, 100, 256, 0, Remainder::pad) == Starts{0});
  CHECK_THROWS_WITH(starts(GridMode::stride, 100, 256), Catch::Contains("remainder: pad"));
  // 4096 x 4096 into 256 px tiles: 16 x 16 = 256 tiles, no overlap, all valid.
  const Grid g = plan_grid(4096, 4096, GridOptions{});
  CHECK(g.count() == 256);
  CHECK(g.tile(5, 7).overlap_ratio == 0.0);
  CHECK(g.tile(15, 15).valid_ratio == 1.0);
  CHECK(g.tile(15, 15).is_edge);
  CHECK_FALSE(g.tile(5, 7).is_edge);
}

TEST_CASE("tile: cover layout: Fuji X-T30 1008 x 1508 gives 4 x 6 = 24 tiles, Sony A7S II 1424 x 2128 gives 6 x 9",
          "[tile][geometry]") {
  GridOptions o;
  o.mode = GridMode::cover;
  const Grid fuji = plan_grid(1008, 1508, o);
  CHECK(fuji.rows() == 4);
  CHECK(fuji.cols() == 6);
  CHECK(fuji.count() == 24);
  CHECK(fuji.ys == Starts{0, 251, 501, 752});
  CHECK(fuji.xs == Starts{0, 250, 501, 751, 1002, 1252});
  const Grid sony = plan_grid(1424, 2128, o);
  CHECK(sony.rows() == 6);
  CHECK(sony.cols() == 9);
  for (const Grid* g : {&fuji, &sony}) {
    // First at 0, last ending exactly at the edge, steps differing by at most one pixel.
    CHECK(g->ys.front() == 0);
    CHECK(g->ys.back() + 256 == g->height);
    CHECK(g->xs.back() + 256 == g->width);
    for (const Starts* s : {&g->ys, &g->xs}) {
      std::int64_t lo = INT64_MAX, hi = 0;
      for (std::size_t i = 1; i < s->size(); ++i) {
        lo = std::min(lo, (*s)[i] - (*s)[i - 1]);
        hi = std::max(hi, (*s)[i] - (*s)[i - 1]);
      }
      CHECK(hi - lo <= 1);
      CHECK(hi <= 256); // no gap
    }
    for (std::int64_t gy = 0; gy < g->rows(); ++gy)
      for (std::int64_t gx = 0; gx < g->cols(); ++gx) CHECK(g->tile(gy, gx).valid_ratio == 1.0);
  }
  check_ratios_brute_force(fuji);
  // Exactly one tile, a padded one, or an error for a short axis.
  CHECK(starts(GridMode::cover, 256, 256) == Starts{0});
  CHECK(starts(GridMode::cover, 200, 256) == Starts{0});
  CHECK_THROWS_WITH(starts(GridMode::cover, 200, 256, 0, Remainder::drop, ShortAxis::error),
                    Catch::Contains("short_axis"));
  CHECK(starts(GridMode::cover, 257, 256) == Starts{0, 1});
}

TEST_CASE("tile: count layout: rows x cols evenly spaced", "[tile][geometry]") {
  CHECK(starts(GridMode::count, 1000, 256, 0, Remainder::drop, ShortAxis::pad, 3) == Starts{0, 372, 744});
  CHECK(starts(GridMode::count, 1000, 256, 0, Remainder::drop, ShortAxis::pad, 1) == Starts{372});
  CHECK(starts(GridMode::count, 1000, 256, 0, Remainder::drop, ShortAxis::pad, 2) == Starts{0, 744});
  CHECK(starts(GridMode::count, 100, 256, 0, Remainder::drop, ShortAxis::pad, 1) == Starts{0});
  CHECK_THROWS_WITH(starts(GridMode::count, 100, 256, 0, Remainder::drop, ShortAxis::pad, 2),
                    Catch::Contains("smaller than the tile"));
  CHECK_THROWS_WITH(starts(GridMode::count, 258, 256, 0, Remainder::drop, ShortAxis::pad, 4),
                    Catch::Contains("distinct positions"));
  GridOptions o;
  o.mode = GridMode::count;
  o.rows = 2;
  o.cols = 5;
  const Grid g = plan_grid(700, 900, o);
  CHECK(g.count() == 10);
  check_ratios_brute_force(g);
}

TEST_CASE("tile: valid and overlap ratios equal a brute-force pixel count in every mode", "[tile][geometry]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    GridOptions o;
    o.mode = static_cast<GridMode>(trial % 3);
    o.tile_height = 3 + static_cast<std::int64_t>(rng() % 9);
    o.tile_width = 3 + static_cast<std::int64_t>(rng() % 9);
    o.stride_y = 1 + static_cast<std::int64_t>(rng() % 12);
    o.stride_x = 1 + static_cast<std::int64_t>(rng() % 12);
    o.remainder = Remainder::pad;
    const std::int64_t h = o.tile_height + static_cast<std::int64_t>(rng() % 30);
    const std::int64_t w = o.tile_width + static_cast<std::int64_t>(rng() % 30);
    o.rows = 1 + static_cast<std::int64_t>(rng() % std::min<std::int64_t>(4, h - o.tile_height + 1));
    o.cols = 1 + static_cast<std::int64_t>(rng() % std::min<std::int64_t>(4, w - o.tile_width + 1));
    INFO("trial " << trial << " mode " << static_cast<int>(o.mode) << " image " << h << "x" << w << " tile "
                  << o.tile_height << "x" << o.tile_width << " stride " << o.stride_y << "," << o.stride_x);
    check_ratios_brute_force(plan_grid(h, w, o));
  }
  // A padded stride tile: 300 px axis, 256 px tiles -> second tile has 44 valid columns.
  GridOptions o;
  o.remainder = Remainder::pad;
  const Grid g = plan_grid(256, 300, o);
  REQUIRE(g.count() == 2);
  CHECK(g.tile(0, 1).valid_w == 44);
  CHECK(g.tile(0, 1).valid_ratio == Approx(44.0 / 256.0));
  // 384 px with cover: two tiles at 0 and 128 share 128 columns: (256*256 - 256*128) / 256^2 = 0.5
  GridOptions c;
  c.mode = GridMode::cover;
  const Grid two = plan_grid(256, 384, c);
  CHECK(two.tile(0, 0).overlap_ratio == Approx(0.5));
  const Grid four = plan_grid(384, 384, c);
  CHECK(four.tile(1, 1).overlap_ratio == Approx(0.75)); // 1 - (128 * 128) / 256^2
}

TEST_CASE("tile: tile statistics and quality score", "[tile][quality]") {
  std::vector<std::uint8_t> flat(16 * 16, 100);
  TileStats s = tile_stats<std::uint8_t>(flat.data(), 16, 1, 16, 16);
  CHECK(s.mean_intensity == Approx(100.0 / 255));
  CHECK(s.gradient == 0.0);
  CHECK(s.unclipped_ratio == 1.0);
  CHECK(quality_score(1.0, s) == 0.0);

  std::vector<std::uint8_t> checker(16 * 16);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) checker[static_cast<std::size_t>(y * 16 + x)] = (x + y) % 2 ? 200 : 0;
  s = tile_stats<std::uint8_t>(checker.data(), 16, 1, 16, 16);
  CHECK(s.gradient == Approx(200.0));
  CHECK(s.unclipped_ratio == Approx(0.5)); // half the samples are clipped black
  CHECK(s.mean_intensity == Approx(100.0 / 255));
  CHECK(quality_score(1.0, s) == Approx(0.5 * 200.0 / 202.0));
  CHECK(quality_score(0.5, s) == Approx(0.25 * 200.0 / 202.0));

  // Only the valid region counts: a 4 x 4 region of 255 inside a 16-wide tile of zeros.
  std::vector<std::uint8_t> part(16 * 16, 0);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) part[static_cast<std::size_t>(y * 16 + x)] = 255;
  s = tile_stats<std::uint8_t>(part.data(), 16, 1, 4, 4);
  CHECK(s.mean_intensity == 1.0);
  CHECK(s.unclipped_ratio == 0.0);
  CHECK(s.gradient == 0.0);

  // RGB: differences are taken within a channel; f32 counts as 0..1.
  std::vector<std::uint8_t> rgb(4 * 4 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i % 3 * 100);
  s = tile_stats<std::uint8_t>(rgb.data(), 4, 3, 4, 4);
  CHECK(s.gradient == 0.0);
  std::vector<float> f(8 * 8, 0.5f);
  const TileStats sf = tile_stats<float>(f.data(), 8, 1, 8, 8);
  CHECK(sf.mean_intensity == Approx(0.5));
  CHECK(sf.unclipped_ratio == 1.0);
  // Out-of-range and NaN f32 samples are clipped (NaN as 0): the figures stay in [0, 1].
  std::vector<float> wild(8 * 8, 3.0f);
  wild[5] = std::numeric_limits<float>::quiet_NaN();
  wild[6] = -2.0f;
  const TileStats sw = tile_stats<float>(wild.data(), 8, 1, 8, 8);
  CHECK(sw.mean_intensity == Approx(62.0 / 64));
  CHECK(sw.unclipped_ratio == 0.0);
  CHECK(std::isfinite(sw.gradient));
}

// ---- split hash --------------------------------------------------------------------------------

TEST_CASE(
    "tile: split hash: md5 of the UTF-8 scene id, first 4 bytes big-endian, mod 100 (values from python3 hashlib)",
    "[tile][split]") {
  // python3 -c "import hashlib; d = hashlib.md5(s.encode('utf-8')).digest(); print(d.hex(),
  //             int.from_bytes(d[:4], 'big'), int.from_bytes(d[:4], 'big') % 100)"
  const auto d = md5("photo_00001");
  CHECK(d[0] == 0x3c);
  CHECK(d[15] == 0xd0);
  CHECK(scene_hash32("photo_00001") == 1007219503u);
  CHECK(split_bucket("photo_00001") == 3);
  CHECK(scene_hash32("micro_Microtubules_Cell_01") == 3796860360u);
  CHECK(split_bucket("micro_Microtubules_Cell_01") == 60);
  CHECK(split_bucket("astro_j8xi01") == 28);
  CHECK(scene_hash32("") == 3558706393u);
  CHECK(split_bucket("sc\xc3\xa8ne_\xc3\xa9") == 29); // "scène_é" in UTF-8
}

TEST_CASE("tile: splits: 70/15/15 proportions, stable, and no scene in two splits under by-scene", "[tile][split]") {
  const SplitRatios r;
  std::map<std::string, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const std::string scene = "scene_" + std::to_string(i);
    const std::string clean = assign_split(scene, true, SplitPolicy::by_scene, r);
    const std::string noisy = assign_split(scene, false, SplitPolicy::by_scene, r);
    REQUIRE(clean == noisy);                                               // no leak
    REQUIRE(clean == assign_split(scene, true, SplitPolicy::by_scene, r)); // stable
    REQUIRE(clean == std::string(assign_split(std::string(scene), false, SplitPolicy::by_scene, r)));
    ++counts[clean];
  }
  CHECK(counts["train"] == Approx(0.70 * n).epsilon(0.03));
  CHECK(counts["validation"] == Approx(0.15 * n).epsilon(0.08));
  CHECK(counts["test"] == Approx(0.15 * n).epsilon(0.08));
  // Custom ratios: 100 / 0 / 0 puts everything in train.
  CHECK(std::string(assign_split("x", false, SplitPolicy::by_scene, SplitRatios{100, 0, 0})) == "train");
  CHECK(std::string(assign_split("photo_00001", false, SplitPolicy::by_scene, SplitRatios{3, 1, 96})) ==
        "validation"); // bucket 3

  // noisy-train-clean-test: clean always test, noisy never; train share renormalised (70/85).
  std::map<std::string, int> noisy;
  for (int i = 0; i < n; ++i) {
    const std::string scene = "scene_" + std::to_string(i);
    REQUIRE(std::string(assign_split(scene, true, SplitPolicy::noisy_train_clean_test, r)) == "test");
    const std::string s = assign_split(scene, false, SplitPolicy::noisy_train_clean_test, r);
    REQUIRE(s != "test");
    ++noisy[s];
  }
  CHECK(noisy["train"] == Approx(83.0 / 100 * n).epsilon(0.03)); // buckets 0..82
  CHECK(make_pair_id("photo_00001", 3, 4) == "photo_00001_g3_4");
}

// ---- stages ------------------------------------------------------------------------------------

TEST_CASE("tile: tile.grid emits one item per tile with the tile's pixels and meta", "[tile][stage]") {
  TileGrid grid;
  set_param(grid, "remainder", std::string("pad"));
  set_param(grid, "pad_value", 7.0);
  set_param(grid, "tile_size", std::int64_t{64});
  TempDir tmp("tile-grid");
  lumen::testing::Context ctx(tmp.path());
  const lumen::Array image = ramp_image(150, 100, 3);
  lumen::Item parent = image_item("frame", image, "/data/frame.fits");
  parent.set("mask", lumen::Array(lumen::DType::u8, lumen::Shape{150, 100}));
  auto tiles = run(grid, {parent}, ctx);
  REQUIRE(tiles.size() == 3 * 2);
  const auto src = image.view<std::uint8_t>();
  for (const auto& t : tiles) {
    CHECK_FALSE(t.has("mask")); // only the tile's pixels travel
    const auto gx = *t.meta.get_int("grid_x"), gy = *t.meta.get_int("grid_y");
    CHECK(t.id() == "frame/t" + std::to_string(gy) + "_" + std::to_string(gx));
    CHECK(t.provenance.source_file == "/data/frame.fits");
    CHECK(t.provenance.parent_id == "frame");
    CHECK(*t.meta.get_string("domain") == "astronomy"); // inherited
    CHECK(*t.meta.get_int("grid_rows") == 3);
    CHECK(*t.meta.get_int("grid_cols") == 2);
    CHECK(*t.meta.get_int("channels") == 3);
    CHECK(*t.meta.get_int("tile_size") == 64);
    CHECK(*t.meta.get_string("tile_mode") == "stride");
    const std::int64_t x0 = *t.meta.get_int("image_x"), y0 = *t.meta.get_int("image_y");
    CHECK(x0 == gx * 64);
    CHECK(y0 == gy * 64);
    const auto px = t.array("image").view<std::uint8_t>();
    REQUIRE(px.shape() == lumen::Shape{64, 64, 3});
    bool same = true;
    std::int64_t valid = 0;
    for (std::int64_t y = 0; y < 64; ++y)
      for (std::int64_t x = 0; x < 64; ++x) {
        const bool inside = y0 + y < 150 && x0 + x < 100;
        valid += inside;
        for (std::int64_t k = 0; k < 3; ++k)
          same =
              same && px.data()[(y * 64 + x) * 3 + k] == (inside ? src.data()[((y0 + y) * 100 + x0 + x) * 3 + k] : 7);
      }
    CHECK(same);
    CHECK(*t.meta.get_number("valid_ratio") == Approx(static_cast<double>(valid) / (64.0 * 64.0)));
    CHECK(*t.meta.get_bool("is_edge_tile"));
    const double q = *t.meta.get_number("quality_score");
    CHECK(q > 0.0);
    CHECK(q <= *t.meta.get_number("valid_ratio"));
  }
}

TEST_CASE("tile: tile.grid refuses what it cannot cut, with errors that say what to do", "[tile][stage][errors]") {
  TempDir tmp("tile-grid-bad");
  lumen::testing::Context ctx(tmp.path());
  TileGrid grid;
  grid.attach(ctx);
  lumen::testing::Collect out;
  lumen::Item wrong = image_item("u16", lumen::Array(lumen::DType::u16, lumen::Shape{300, 300}));
  CHECK_THROWS_WITH(grid.process(wrong, out), Catch::Contains("image.to8bit"));
  lumen::Item small = image_item("small", lumen::Array(lumen::DType::u8, lumen::Shape{100, 300}));
  CHECK_THROWS_WITH(grid.process(small, out), Catch::Contains("smaller than the tile"));
  CHECK(out.items.empty());

  // Bad configurations: the error names the parameter.
  std::string param;
  TileGrid a;
  set_param(a, "mode", std::string("cover"));
  set_param(a, "stride", std::int64_t{128});
  CHECK_THAT(config_error(a, &param), Catch::Contains("mode: stride"));
  CHECK(param == "stride");
  TileGrid b;
  set_param(b, "rows", std::int64_t{2});
  CHECK_THAT(config_error(b, &param), Catch::Contains("mode: count"));
  CHECK(param == "rows");
  TileGrid c;
  CHECK_THROWS_WITH(set_param(c, "tile_size", std::int64_t{0}), Catch::Contains("1"));
  TileGrid d;
  set_param(d, "pad_value", 1.5);
  CHECK_THAT(config_error(d, &param), Catch::Contains("whole number"));
  CHECK(param == "pad_value");
}

TEST_CASE("tile: tile.label: scene and clean/noisy from SID-like names, facility labels kept", "[tile][stage][label]") {
  TempDir tmp("tile-label");
  lumen::testing::Context ctx(tmp.path());
  TileLabel label;
  set_param(label, "scene_regex", std::string("^(\\d+)_"));
  set_param(label, "scene_prefix", std::string("photo_"));
  set_param(label, "noisy_regex", std::string("_0\\.\\d+s$"));
  set_param(label, "clean_regex", std::string("_(1\\d|[2-9]\\d)s$"));
  lumen::Item noisy = image_item("a", ramp_image(4, 4), "/sid/Sony/short/00001_00_0.04s.ARW");
  lumen::Item clean = image_item("b", ramp_image(4, 4), "/sid/Sony/long/00001_00_10s.ARW");
  lumen::Item tagged = image_item("c", ramp_image(4, 4), "/sid/Sony/long/00002_00_10s.ARW");
  tagged.meta.set("scene_id", "photo_sony_00002"); // from a facility stage: kept
  tagged.meta.set("data_type", "noisy");
  auto items = run(label, {noisy, clean, tagged}, ctx);
  REQUIRE(items.size() == 3);
  CHECK(*items[0].meta.get_string("scene_id") == "photo_00001");
  CHECK(*items[0].meta.get_string("data_type") == "noisy");
  CHECK(*items[1].meta.get_string("scene_id") == "photo_00001");
  CHECK(*items[1].meta.get_string("data_type") == "clean");
  CHECK(*items[2].meta.get_string("scene_id") == "photo_sony_00002");
  CHECK(*items[2].meta.get_string("data_type") == "noisy");

  // override replaces them; no match and no default fails the item with the subject in the text.
  TileLabel over;
  set_param(over, "override", true);
  set_param(over, "data_type", std::string("clean"));
  set_param(over, "domain", std::string("photography"));
  auto replaced = run(over, {tagged}, ctx);
  CHECK(*replaced[0].meta.get_string("scene_id") == "00002_00_10s");
  CHECK(*replaced[0].meta.get_string("data_type") == "clean");
  CHECK(*replaced[0].meta.get_string("domain") == "photography");

  lumen::testing::Collect out;
  lumen::Item other = image_item("d", ramp_image(4, 4), "/x/scene.fits");
  CHECK_THROWS_WITH(label.process(other, out), Catch::Contains("scene_regex") && Catch::Contains("'scene'"));
  TileLabel both;
  set_param(both, "clean_regex", std::string("s"));
  set_param(both, "noisy_regex", std::string("c"));
  both.start();
  CHECK_THROWS_WITH(both.process(other, out), Catch::Contains("make them exclusive"));
  TileLabel none;
  set_param(none, "clean_regex", std::string("^gt"));
  none.start();
  CHECK_THROWS_WITH(none.process(other, out), Catch::Contains("set data_type"));

  std::string param;
  TileLabel bad;
  set_param(bad, "scene_regex", std::string("^(\\d+_"));
  CHECK_THAT(config_error(bad, &param), Catch::Contains("not a valid"));
  CHECK(param == "scene_regex");
  TileLabel nogroup;
  set_param(nogroup, "scene_regex", std::string("^\\d+_"));
  CHECK_THAT(config_error(nogroup, &param), Catch::Contains("capture group"));
  TileLabel badclean;
  set_param(badclean, "clean_regex", std::string("[a-"));
  CHECK_THAT(config_error(badclean, &param), Catch::Contains("clean_regex"));
  CHECK(param == "clean_regex");
}

TEST_CASE("tile: tile.split: pair ids, splits, and percentages that must sum to 100", "[tile][stage][split]") {
  TempDir tmp("tile-split");
  lumen::testing::Context ctx(tmp.path());
  TileSplit split;
  lumen::Item t = image_item("a/t1_2", ramp_image(4, 4));
  t.meta.set("scene_id", "photo_00001");
  t.meta.set("data_type", "noisy");
  t.meta.set("grid_y", 1);
  t.meta.set("grid_x", 2);
  auto out = run(split, {t}, ctx);
  REQUIRE(out.size() == 1);
  CHECK(*out[0].meta.get_string("pair_id") == "photo_00001_g1_2");
  CHECK(*out[0].meta.get_string("split") == "train"); // bucket 3 < 70
  CHECK(*out[0].meta.get_int("split_hash") == 3);
  CHECK(*out[0].meta.get_string("split_policy") == "by-scene");

  lumen::testing::Collect sink;
  lumen::Item unknown = t;
  unknown.meta.set("data_type", "dark");
  CHECK_THROWS_WITH(split.process(unknown, sink), Catch::Contains("expected clean or noisy"));

  std::string param;
  TileSplit bad;
  set_param(bad, "test_percent", std::int64_t{10});
  const std::string e = config_error(bad, &param);
  CHECK_THAT(e, Catch::Contains("must be 100") && Catch::Contains("70 + 15 + 10 = 95"));
  CHECK(param == "test_percent");
  TileSplit policy;
  set_param(policy, "split_policy", std::string("noisy-train-clean-test"));
  set_param(policy, "train_percent", std::int64_t{0});
  set_param(policy, "validation_percent", std::int64_t{0});
  set_param(policy, "test_percent", std::int64_t{100});
  CHECK_THAT(config_error(policy, &param), Catch::Contains("noisy-train-clean-test"));
  CHECK_THROWS(set_param(policy, "train_percent", std::int64_t{101}));
}

namespace {

// Clean and noisy frames of `scenes` scenes, cut into tiles, split: what tile.write receives.
std::vector<lumen::Item> labelled_tiles(int scenes, bool drop_one_noisy, const lumen::Context& ctx) {
  std::vector<lumen::Item> frames;
  for (int s = 0; s < scenes; ++s)
    for (const char* type : {"clean", "noisy"}) {
      lumen::Item f = image_item("scene" + std::to_string(s) + "_" + type, ramp_image(128, 192),
                                 "/in/scene" + std::to_string(s) + "_" + type + ".fits");
      f.meta.set("scene_id", "astro_" + std::to_string(s));
      f.meta.set("data_type", type);
      f.meta.set("gain_e_per_adu", 1.5);
      f.meta.set("read_noise_e", 3.5);
      f.meta.set("calibration_method", "(ADU - black_level) * gain");
      frames.push_back(std::move(f));
    }
  TileGrid grid;
  set_param(grid, "tile_size", std::int64_t{64});
  auto tiles = run(grid, frames, ctx);
  TileSplit split;
  auto out = run(split, std::move(tiles), ctx);
  if (drop_one_noisy)
    for (auto it = out.begin(); it != out.end(); ++it)
      if (*it->meta.get_string("data_type") == "noisy") {
        out.erase(it);
        break;
      }
  return out;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

} // namespace

TEST_CASE("tile: tile.write: PNG per tile, the metadata index and the summary", "[tile][stage][write]") {
  TempDir tmp("tile-write");
  const fs::path outputs = tmp.path() / "outputs";
  fs::create_directories(outputs);
  lumen::testing::Context ctx(outputs, "write");
  auto tiles = labelled_tiles(5, true, ctx); // 5 scenes x 2 types x 6 tiles, minus one noisy tile
  REQUIRE(tiles.size() == 59);
  TileWrite write;
  run(write, tiles, ctx);

  const auto records = read_jsonl(outputs / "tiles_metadata.jsonl");
  REQUIRE(records.size() == 59);
  std::set<std::string> ids;
  for (const auto& r : records) {
    ids.insert(r["tile_id"].get<std::string>());
    const fs::path png = outputs / r["png_path"].get<std::string>();
    REQUIRE(fs::exists(png));
    CHECK(r["png_path"].get<std::string>().rfind("png_tiles/astronomy/" + r["data_type"].get<std::string>() + "/", 0) ==
          0);
    const auto decoded = lumen::png::read_png(png);
    CHECK(decoded.image.shape() == lumen::Shape{64, 64});
    CHECK(r["gain"] == 1.5);
    CHECK(r["read_noise"] == 3.5);
    CHECK(r["run_id"] == "test-run");
    CHECK(r["tile_size"] == 64);
    CHECK(r["pair_id"].get<std::string>() == r["scene_id"].get<std::string>() + "_g" +
                                                 std::to_string(r["grid_y"].get<int>()) + "_" +
                                                 std::to_string(r["grid_x"].get<int>()));
  }
  CHECK(ids.size() == 59);
  // The decoded pixels are the tile's pixels.
  {
    const auto& r = records.front();
    const auto decoded = lumen::png::read_png(outputs / r["png_path"].get<std::string>());
    const auto v = decoded.image.view<std::uint8_t>();
    const auto x0 = r["image_x"].get<std::int64_t>(), y0 = r["image_y"].get<std::int64_t>();
    CHECK(v.at(5, 9) == static_cast<std::uint8_t>(((y0 + 5) * 7 + (x0 + 9) * 3) % 251));
  }

  const auto doc = nlohmann::json::parse(std::ifstream(outputs / "tiles_metadata.json"));
  CHECK(doc["tile_count"] == 59);
  CHECK(doc["records"].size() == 59);
  CHECK(doc["records"][3] == records[3]);
  CHECK(doc["run_id"] == "test-run");

  const fs::path summary_path = outputs / "artifacts" / "tiles_summary.json";
  REQUIRE(fs::exists(summary_path));
  CHECK_FALSE(fs::exists(outputs / "artifacts" / "write")); // no empty per-stage directory left
  const auto summary = nlohmann::json::parse(std::ifstream(summary_path));
  CHECK(summary["tiles"] == 59);
  CHECK(summary["pairing"]["clean_without_noisy"] == 1);
  CHECK(summary["pairing"]["clean_without_noisy_ids"].size() == 1);
  {                                   // the name comes back from the jsonl (only a hash is kept while the tiles stream)
    std::map<std::string, int> kinds; // pair_id -> bit 1 clean, bit 2 noisy
    for (const auto& r : records) kinds[r["pair_id"].get<std::string>()] |= r["data_type"] == "clean" ? 1 : 2;
    std::vector<std::string> clean_only;
    for (const auto& [id, k] : kinds)
      if (k == 1) clean_only.push_back(id);
    REQUIRE(clean_only.size() == 1);
    CHECK(summary["pairing"]["clean_without_noisy_ids"][0] == clean_only[0]);
  }
  CHECK(summary["pairing"]["every_clean_tile_has_noisy_twin"] == false);
  CHECK(summary["pairing"]["complete_pairs"] == 29);
  CHECK(summary["scenes"]["count"] == 5);
  CHECK(summary["scenes"]["leak_free"] == true);
  std::uint64_t counted = 0;
  for (const auto& c : summary["counts"]) counted += c["tiles"].get<std::uint64_t>();
  CHECK(counted == 59);
  bool printed = false;
  for (const auto& [level, text] : ctx.logged) printed = printed || text.find("tiles summary") != std::string::npos;
  CHECK(printed);
  // Every file it wrote is reported, and no temporary file is left.
  CHECK(ctx.recorded.size() == 59 + 3);
  for (const auto& entry : fs::recursive_directory_iterator(tmp.path()))
    CHECK(entry.path().string().find(".lumen-tmp") == std::string::npos);
}

TEST_CASE(
    "tile: tile.write refuses a repeated tile id and non-8-bit tiles, and writes no index when finish is not reached",
    "[tile][stage][write][errors]") {
  TempDir tmp("tile-write-bad");
  const fs::path outputs = tmp.path() / "outputs";
  fs::create_directories(outputs);
  lumen::testing::Context ctx(outputs, "write");
  auto tiles = labelled_tiles(1, false, ctx);
  {
    TileWrite write;
    write.validate();
    write.attach(ctx);
    write.start();
    lumen::testing::Collect out;
    write.process(tiles[0], out);
    lumen::Item again = tiles[0];
    CHECK_THROWS_WITH(write.process(again, out), Catch::Contains("already written") && Catch::Contains("tile_id"));
    lumen::Item f32 = tiles[1];
    f32.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{64, 64}));
    CHECK_THROWS_WITH(write.process(f32, out), Catch::Contains("image.to8bit"));
    // The stage is dropped without finish(), as when a run is aborted.
  }
  CHECK_FALSE(fs::exists(outputs / "tiles_metadata.jsonl"));
  CHECK_FALSE(fs::exists(outputs / "tiles_metadata.json"));
  for (const auto& entry : fs::recursive_directory_iterator(tmp.path()))
    CHECK(entry.path().string().find(".lumen-tmp") == std::string::npos);

  std::string param;
  TileWrite bad;
  set_param(bad, "tile_id", std::string("{scene_id"));
  CHECK_THAT(config_error(bad, &param), Catch::Contains("unclosed"));
  CHECK(param == "tile_id");
  TileWrite bad2;
  set_param(bad2, "summary", std::string("../x.json"));
  CHECK_THAT(config_error(bad2, &param), Catch::Contains("summary"));
  CHECK(param == "summary");
}

TEST_CASE("tile: summary: counts, pairing misses (listed up to 1000) and scenes in several splits", "[tile][summary]") {
  TileSummary s;
  // Scene a: complete pairs in train. Scene b: clean without noisy twin in test, noisy in validation
  // (the noisy-train-clean-test layout). 1500 clean-only pairs of scene c.
  s.add("astronomy", "clean", "train", "a", "a_g0_0", "by-scene");
  s.add("astronomy", "noisy", "train", "a", "a_g0_0", "by-scene");
  s.add("astronomy", "noisy", "train", "a", "a_g0_0", "by-scene"); // a second noisy exposure
  s.add("astronomy", "clean", "test", "b", "b_g0_0", "noisy-train-clean-test");
  s.add("astronomy", "noisy", "validation", "b", "b_g0_1", "noisy-train-clean-test");
  for (int i = 0; i < 1500; ++i) s.add("microscopy", "clean", "test", "c", "c_g" + std::to_string(i), "by-scene");
  CHECK(s.tiles() == 1505);
  // Only hashes of the pair ids are kept: before name_pair() the counts are there, the lists empty.
  const auto unnamed = nlohmann::json::parse(s.to_json("run", "2026-01-01T00:00:00.000Z").dump());
  CHECK(unnamed["pairing"]["clean_without_noisy"] == 1501);
  CHECK(unnamed["pairing"]["clean_without_noisy_ids"].empty());
  // The second pass names the misses (tile.write reads the pair ids back from the jsonl), in any
  // order and with repeats: the kMaxListedMisses smallest are kept, sorted.
  for (int i = 1499; i >= 0; --i) s.name_pair("c_g" + std::to_string(i));
  for (const char* id : {"a_g0_0", "a_g0_0", "b_g0_0", "b_g0_1", "c_g7", "not_counted"}) s.name_pair(id);
  CHECK(s.clean_without_noisy() == 1501);
  CHECK(s.noisy_without_clean() == 1);
  CHECK(s.leaked_scenes() == std::vector<std::string>{"b"});
  const auto j = nlohmann::json::parse(s.to_json("run", "2026-01-01T00:00:00.000Z").dump());
  CHECK(j["pairing"]["complete_pairs"] == 1);
  CHECK(j["pairing"]["clean_without_noisy"] == 1501);
  CHECK(j["pairing"]["clean_without_noisy_ids"].size() == kMaxListedMisses);
  CHECK(j["pairing"]["noisy_without_clean_ids"] == nlohmann::json::array({"b_g0_1"}));
  CHECK(j["pairing"]["clean_without_noisy_ids"][0] == "b_g0_0");
  CHECK(j["pairing"]["clean_without_noisy_ids"][1] == "c_g0");
  CHECK(j["pairing"]["clean_without_noisy_ids"][2] == "c_g1");
  CHECK(j["pairing"]["clean_without_noisy_ids"][3] == "c_g10");
  CHECK(j["pairing"]["clean_without_noisy_ids"].back() == "c_g547"); // the 1000th smallest, as strings
  CHECK(j["pairing"]["pair_ids"] == 1503);
  CHECK(j["scenes"]["in_several_splits"][0]["splits"] == nlohmann::json::array({"validation", "test"}));
  CHECK(j["scenes"]["leak_free"] == false);
  CHECK(j["scenes"]["leak_expected_by_policy"] == true);
  CHECK(j["totals"]["by_split"]["train"] == 3);
  CHECK(j["totals"]["by_domain"]["microscopy"] == 1500);
  CHECK(j["counts"].size() == 5);
  CHECK_THAT(s.text(),
             Catch::Contains("1501 clean without a noisy twin") && Catch::Contains("1 in more than one split"));
}

TEST_CASE("tile: every zlib strategy (encoder libpng) writes PNGs that decode to the same pixels", "[tile][write]") {
  TempDir tmp("tile-strategy");
  const lumen::Array image = ramp_image(64, 80, 3);
  std::map<std::string, std::uintmax_t> sizes;
  for (const char* name : {"default", "filtered", "huffman", "rle"}) {
    const fs::path file = tmp.path() / (std::string(name) + ".png");
    std::FILE* f = std::fopen(file.c_str(), "wb");
    REQUIRE(f != nullptr);
    lumen::png::write_png(
        f, image, {1, lumen::png::Filter::none, lumen::png::strategy_from_name(name), lumen::png::Encoder::libpng},
        name);
    std::fclose(f);
    CHECK(lumen::test::same_pixels(lumen::png::read_png(file).image, image));
    sizes[name] = fs::file_size(file);
  }
  CHECK(sizes["huffman"] != sizes["default"]); // the option reaches zlib
  CHECK_THROWS_WITH(lumen::png::strategy_from_name("fast"), Catch::Contains("default, filtered, huffman or rle"));
  TileWrite write;
  CHECK_THROWS(set_param(write, "strategy", std::string("fast")));
}

TEST_CASE("tile: tile.write encoders: libdeflate by default, libpng on request, strategy only with libpng",
          "[tile][stage][write]") {
  TempDir tmp("tile-encoder");
  std::map<std::string, std::vector<fs::path>> written;
  for (const std::string encoder : {"", "libpng", "libdeflate"}) {
    const fs::path outputs = tmp.path() / ("out-" + encoder);
    fs::create_directories(outputs);
    lumen::testing::Context ctx(outputs, "write");
    auto tiles = labelled_tiles(2, false, ctx);
    std::vector<lumen::Array> pixels;
    for (const auto& t : tiles) pixels.push_back(t.array("image"));
    TileWrite write;
    if (!encoder.empty()) set_param(write, "encoder", encoder);
    set_param(write, "filter", std::string("paeth"));
    run(write, tiles, ctx);
    const auto records = read_jsonl(outputs / "tiles_metadata.jsonl");
    REQUIRE(records.size() == pixels.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
      const fs::path png = outputs / records[i]["png_path"].get<std::string>();
      CHECK(lumen::test::same_pixels(lumen::png::read_png(png).image, pixels[i]));
      written[encoder].push_back(png);
    }
  }
  // The default is libdeflate: the same bytes as encoder: libdeflate, other bytes than libpng.
  REQUIRE(written[""].size() == written["libpng"].size());
  CHECK(lumen::test::read_bytes(written[""][0]) == lumen::test::read_bytes(written["libdeflate"][0]));
  CHECK(lumen::test::read_bytes(written[""][0]) != lumen::test::read_bytes(written["libpng"][0]));

  TileWrite bad;
  set_param(bad, "strategy", std::string("rle"));
  std::string param;
  const std::string error = config_error(bad, &param);
  CHECK(param == "strategy");
  CHECK_THAT(error, Catch::Contains("encoder: libpng"));
  set_param(bad, "encoder", std::string("libpng"));
  CHECK_NOTHROW(bad.validate());
  CHECK_THROWS(set_param(bad, "encoder", std::string("zlib")));
}

TEST_CASE("tile: the tile set declares its four stages with documented parameters", "[tile]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 4);
  CHECK(table->stages[0].name == "tile.grid");
  CHECK(table->stages[1].name == "tile.label");
  CHECK(table->stages[2].name == "tile.split");
  CHECK(table->stages[3].name == "tile.write");
  for (const auto& f : table->stages) {
    CHECK(f.concurrent);
    CHECK(f.doc.find("Example") != std::string::npos);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
}
