// Unit tests for the `raw` set: the real DNG against MANIFEST.md (sizes, CFA, black level,
// value range and per-channel means over the area dcraw -D uses), the two metadata-only stubs
// (refused with the declared frame and the file size), synthetic camera-like DNGs for every
// CFA pattern through raw.write_dng -> raw.read (identical pixels and meta), the full sensor
// area with its CFA, and bad input (truncations, byte flips, not raw, empty).
//
// Run: build/bin/test_raw   (or ctest -R raw)
#include "dng_writer.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "raw_io.hpp"
#include "raw_stages.hpp"
#include "synthetic_bayer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using lumen::Array;
using lumen::test::TempDir;
using namespace lumen::raw;

namespace {

using lumen::test::same_pixels;

std::vector<lumen::Item> read_all(const fs::path& file, bool visible_only = true) {
  RawRead reader;
  reader.path.assign(lumen::ParamValue{file.string()});
  reader.visible_only.assign(lumen::ParamValue{visible_only});
  return lumen::testing::read_all(reader, lumen::testing::Context(file.parent_path()));
}

std::string read_error(const fs::path& file) {
  try {
    (void)read_raw(file);
  } catch (const lumen::InputError& e) {
    return e.what();
  }
  return "no error";
}

fs::path write_dng_stage(const lumen::Item& in, const fs::path& dir) {
  RawWriteDng writer;
  lumen::testing::Context ctx(dir);
  writer.attach(ctx);
  writer.start();
  lumen::testing::Collect out;
  lumen::Item item = in;
  writer.process(item, out);
  REQUIRE(ctx.recorded.size() == 1);
  return ctx.recorded.front().first;
}

} // namespace

TEST_CASE("real Canon DNG: sizes, RGGB, black 2056, values and channel means as dcraw -D", "[raw][real]") {
  LUMEN_SHARED_FILE(file, "raw/tinydng_colorchart_CanonEOSKissX4.dng");
  const auto items = read_all(file);
  REQUIRE(items.size() == 1);
  const auto& it = items[0];
  const Array& img = it.array("image");
  CHECK(img.dtype() == lumen::DType::u16);
  CHECK(img.shape() == lumen::Shape{1156, 1734});
  CHECK(it.meta.get_string("cfa") == "RGGB");
  CHECK(it.meta.get_number("black_level") == 2056);
  CHECK(it.meta.get_string("make") == "Canon");
  CHECK(it.meta.get_string("model") == "EOS Kiss X4");
  CHECK(it.meta.get_int("raw_width") == 1888);
  CHECK(it.meta.get_int("raw_height") == 1182);
  CHECK(it.meta.get_string("units") == "adu");
  CHECK(it.meta.get_string("domain") == "photography");
  const auto wb = *it.meta.get_list("wb_as_shot");
  CHECK(wb[1] == Approx(0.4037).margin(1e-3));
  CHECK(wb[2] == Approx(0.6840).margin(1e-3));
  const auto v = img.view<std::uint16_t>();
  std::uint16_t lo = 65535, hi = 0;
  double sum[4] = {};
  double n[4] = {};
  for (std::int64_t y = 0; y < 1156; ++y)
    for (std::int64_t x = 0; x < 1734; ++x) {
      const auto p = v.at(y, x);
      lo = std::min(lo, p);
      hi = std::max(hi, p);
      sum[(y & 1) * 2 + (x & 1)] += p;
      n[(y & 1) * 2 + (x & 1)] += 1;
    }
  CHECK(lo == 1958);
  CHECK(hi == 12128);
  CHECK(sum[0] / n[0] == Approx(2391).margin(1));
  CHECK(sum[1] / n[1] == Approx(2779).margin(1));
  CHECK(sum[2] / n[2] == Approx(2783).margin(1));
  CHECK(sum[3] / n[3] == Approx(2583).margin(1));

  // The full sensor area: margins left 152 and top 26 (both even), so the pattern stays RGGB
  // and the visible area sits inside it unchanged.
  const auto full = read_all(file, false);
  const Array& f = full[0].array("image");
  CHECK(f.shape() == lumen::Shape{1182, 1888});
  CHECK(full[0].meta.get_string("cfa") == "RGGB");
  CHECK(same_pixels(f.crop(26, 152, 1156, 1734).contiguous_copy(), img));
}

TEST_CASE("metadata-only stubs are refused with the declared frame and the file size", "[raw][real][bad]") {
  LUMEN_SHARED_FILE(nef, "raw/exiftool_stub_NikonD70.nef");
  LUMEN_SHARED_FILE(rw2, "raw/exiftool_stub_PanasonicDMC-LX3.rw2");
  const std::string a = read_error(nef), b = read_error(rw2);
  CHECK_THAT(a, Catch::Contains(nef.string()) && Catch::Contains("3040x2014") && Catch::Contains("6188 bytes") &&
                    Catch::Contains("Nikon D70"));
  CHECK_THAT(b, Catch::Contains(rw2.string()) && Catch::Contains("3724x2754") && Catch::Contains("12344 bytes") &&
                    Catch::Contains("Panasonic"));
}

TEST_CASE("synthetic camera-like DNGs round-trip through raw.write_dng and raw.read for every CFA", "[raw][dng]") {
  TempDir tmp("raw-dng");
  for (const char* cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}) {
    INFO(cfa);
    BayerSpec spec;
    spec.cfa = cfa;
    spec.height = 60;
    spec.width = 90;
    spec.black = 512;
    spec.white = 16383;
    spec.seed = 11;
    lumen::Item item(std::string("sony_") + cfa);
    item.set("image", make_bayer(spec));
    item.meta.set("cfa", cfa);
    item.meta.set("black_level_per_channel", std::vector<double>{512, 513, 514, 515});
    item.meta.set("white_level", std::int64_t{16383});
    item.meta.set("make", "Sony");
    item.meta.set("model", "ILCE-7M3");
    item.meta.set("iso", 800.0);
    item.meta.set("exposure_time", 0.01);
    item.meta.set("aperture", 2.8);
    item.meta.set("focal_length", 50.0);
    item.meta.set("timestamp", "2024-05-06T07:08:09");
    item.meta.set("wb_as_shot", std::vector<double>{2.0, 1.0, 1.5, 0.0});
    const fs::path dng = write_dng_stage(item, tmp.path());
    const RawFrame back = read_raw(dng);
    CHECK(same_pixels(back.image, item.array("image")));
    CHECK(back.meta.get_string("cfa") == cfa);
    CHECK(*back.meta.get_list("black_level_per_channel") == std::vector<double>{512, 513, 514, 515});
    CHECK(back.meta.get_number("black_level") == Approx(513.5));
    CHECK(back.meta.get_int("white_level") == 16383);
    CHECK(back.meta.get_string("make") == "Sony");
    CHECK(back.meta.get_string("model") == "ILCE-7M3");
    CHECK(back.meta.get_number("iso") == 800);
    CHECK(back.meta.get_number("exposure_time") == Approx(0.01));
    CHECK(back.meta.get_number("aperture") == Approx(2.8));
    CHECK(back.meta.get_number("focal_length") == Approx(50));
    CHECK(back.meta.get_string("timestamp") == "2024-05-06T07:08:09");
    const auto wb = *back.meta.get_list("wb_as_shot");
    CHECK(wb[0] == Approx(2.0).epsilon(1e-5));
    CHECK(wb[2] == Approx(1.5).epsilon(1e-5));
  }
}

TEST_CASE("a synthetic Fujifilm X-Trans mosaic round-trips with its 6x6 pattern", "[raw][dng][xtrans]") {
  TempDir tmp("raw-xtrans");
  BayerSpec spec;
  spec.cfa = "XTRANS";
  spec.height = 60;
  spec.width = 96;
  spec.black = 1024;
  spec.white = 16383;
  spec.seed = 5;
  lumen::Item item("fuji_xt30");
  item.set("image", make_bayer(spec));
  item.meta.set("cfa", "XTRANS");
  item.meta.set("cfa_pattern", lumen::raw::kStandardXTrans);
  item.meta.set("black_level", 1024.0);
  item.meta.set("white_level", std::int64_t{16383});
  item.meta.set("make", "Fujifilm");
  item.meta.set("model", "X-T30");
  const fs::path dng = write_dng_stage(item, tmp.path());
  const RawFrame back = read_raw(dng);
  CHECK(same_pixels(back.image, item.array("image")));
  CHECK(back.meta.get_string("cfa") == "XTRANS");
  CHECK(back.meta.get_string("cfa_pattern") == std::string(lumen::raw::kStandardXTrans));
  CHECK(back.meta.get_number("black_level") == 1024);
  CHECK(back.meta.get_list("black_level_per_channel")->size() == 36);
  CHECK(back.meta.get_string("model") == "X-T30");

  // The layout itself: X-Trans has 20 green, 8 red and 8 blue sites per 6x6 repeat.
  const auto pattern = lumen::raw::parse_cfa("XTRANS");
  int greens = 0;
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) greens += pattern.color(r, c) == 1;
  CHECK(greens == 20);

  // A pattern that is not 36 letters is refused by the writer with a clear message.
  item.meta.set("cfa_pattern", "RGGB");
  lumen::testing::Context ctx(tmp.path());
  lumen::raw::RawWriteDng writer;
  writer.attach(ctx);
  lumen::testing::Collect out;
  try {
    writer.process(item, out);
    FAIL("no error");
  } catch (const lumen::InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("36 letters"));
  }
}

TEST_CASE("the synthetic mosaic has the statistics it was made with", "[raw][synthetic]") {
  BayerSpec spec;
  spec.height = 200;
  spec.width = 200;
  spec.peak_e = 10000;
  spec.gain_e_per_adu = 2.0;
  spec.read_noise_e = 4.0;
  spec.black = 600;
  const Array a = make_bayer(spec);
  // Over a flat patch (the white square in the lower right), the variance in ADU^2 is
  // (signal_e + read_noise^2) / gain^2.
  const auto v = a.view<std::uint16_t>();
  double s = 0, s2 = 0, n = 0;
  for (std::int64_t y = 140; y < 160; y += 2)
    for (std::int64_t x = 140; x < 160; x += 2) {
      const double p = v.at(y, x);
      s += p;
      s2 += p * p;
      ++n;
    }
  const double mean = s / n, var = s2 / n - mean * mean;
  CHECK(mean == Approx(600 + 10000 / 2.0).epsilon(0.01));
  CHECK(var == Approx((10000 + 16) / 4.0).epsilon(0.35));
  CHECK_THROWS(make_bayer(BayerSpec{.height = 3}));
}

TEST_CASE("truncated, flipped, empty and non-raw files fail with the file named", "[raw][bad]") {
  TempDir tmp("raw-bad");
  const fs::path empty = tmp.path() / "empty.dng";
  std::ofstream(empty).close();
  CHECK_THAT(read_error(empty), Catch::Contains(empty.string()) && Catch::Contains("empty file"));
  const fs::path text = tmp.path() / "notes.arw";
  std::ofstream(text) << std::string(5000, 'z');
  CHECK_THAT(read_error(text), Catch::Contains(text.string()) && Catch::Contains("not a readable camera raw file"));

  // A synthetic DNG and its damaged copies: truncations always fail, flips never crash.
  BayerSpec spec;
  lumen::Item item("cam");
  item.set("image", make_bayer(spec));
  item.meta.set("cfa", "RGGB");
  const fs::path dng = write_dng_stage(item, tmp.path());
  fs::create_directories(tmp.path() / "variants");
  fs::create_directories(tmp.path() / "real");
  for (const auto& bad : lumen::test::corrupt_variants(dng, tmp.path() / "variants", 1024, 64)) {
    INFO(bad.what);
    std::string message;
    try {
      const RawFrame f = read_raw(bad.path);
      // libtiff writes the IFD after the pixels; a cut inside its last bytes (the next-IFD
      // link) leaves every tag and pixel readable, which is then the same frame.
      if (bad.truncated) CHECK(same_pixels(f.image, item.array("image")));
      CHECK(f.image.size() > 0);
    } catch (const lumen::InputError& e) {
      message = e.what();
    }
    if (!message.empty()) CHECK_THAT(message, Catch::Contains(bad.path.string()));
  }
  // Same for the real DNG (a cut inside the pixel data must fail, not return garbage).
  LUMEN_SHARED_FILE(real, "raw/tinydng_colorchart_CanonEOSKissX4.dng");
  for (const auto& bad : lumen::test::corrupt_variants(real, tmp.path() / "real", 2048, 32)) {
    INFO(bad.what);
    std::string message;
    try {
      (void)read_raw(bad.path);
    } catch (const lumen::InputError& e) {
      message = e.what();
    }
    if (bad.truncated) REQUIRE_FALSE(message.empty());
  }
}

TEST_CASE("raw.write_dng refuses items without a CFA or with the wrong dtype", "[raw][dng][bad]") {
  TempDir tmp("raw-dng-bad");
  RawWriteDng writer;
  lumen::testing::Context ctx(tmp.path());
  writer.attach(ctx);
  lumen::testing::Collect out;
  lumen::Item nocfa("plain");
  nocfa.set("image", Array(lumen::DType::u16, lumen::Shape{4, 4}));
  CHECK_THROWS_WITH(writer.process(nocfa, out), Catch::Contains("item 'plain'") && Catch::Contains("meta cfa"));
  lumen::Item f32("float");
  f32.set("image", Array(lumen::DType::f32, lumen::Shape{4, 4}));
  f32.meta.set("cfa", "RGGB");
  CHECK_THROWS_WITH(writer.process(f32, out), Catch::Contains("item 'float'") && Catch::Contains("u16 (H, W)"));
  CHECK_FALSE(fs::exists(tmp.path() / "float.dng"));
}
