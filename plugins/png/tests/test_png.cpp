// Unit tests for the `png` set: bit-exact write/read round trips for u8/u16 x gray, gray+alpha,
// RGB, RGBA; 16-bit byte order checked against hand-made PNG bytes; palette, tRNS, low bit
// depth and interlaced files; corrupt, truncated and non-PNG files; and the
// png.read / png.write stages driven directly with a test context.
//
// Run: build/bin/test_png   (or ctest -R png)
// The stages under test are used in pipelines like:
//   - id: in
//     use: png.read
//     with: {path: "frames/*.png"}
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "png_io.hpp"
#include "png_stages.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <png.h>
#include <random>
#include <string>
#include <vector>
#include <zlib.h>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace fs = std::filesystem;

namespace {

using lumen::test::same_pixels;

using TestContext = lumen::testing::Context;
using Collect = lumen::testing::Collect;

using lumen::test::TempDir;

lumen::Array random_image(lumen::DType dtype, std::int64_t h, std::int64_t w, std::int64_t c, unsigned seed) {
  const lumen::Shape shape = c == 1 ? lumen::Shape{h, w} : lumen::Shape{h, w, c};
  lumen::Array a(dtype, shape);
  std::mt19937 rng(seed);
  if (dtype == lumen::DType::u8) {
    for (auto& v : a.writable<std::uint8_t>()) v = static_cast<std::uint8_t>(rng());
  } else {
    for (auto& v : a.writable<std::uint16_t>()) v = static_cast<std::uint16_t>(rng());
  }
  return a;
}

void write_file(const fs::path& path, const lumen::Array& image, lumen::png::WriteOptions options = {}) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  try {
    lumen::png::write_png(f, image, options, path.string());
  } catch (...) {
    std::fclose(f);
    throw;
  }
  std::fclose(f);
}

void put_file(const fs::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// ---- PNG bytes made by hand (independent of png_io), for byte-order and colour-type tests ----

void put_u32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

void put_chunk(std::vector<unsigned char>& out, const char* type, const std::vector<unsigned char>& data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  std::vector<unsigned char> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  out.insert(out.end(), body.begin(), body.end());
  put_u32(out, static_cast<std::uint32_t>(crc32(0L, body.data(), static_cast<uInt>(body.size()))));
}

struct HandPng {
  std::uint32_t width = 1, height = 1;
  int bit_depth = 8, color_type = 0;
  std::vector<unsigned char> raw_rows; // filter byte + packed samples, per row
  std::vector<unsigned char> plte, trns;
};

std::vector<unsigned char> hand_png(const HandPng& p) {
  std::vector<unsigned char> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<unsigned char> ihdr;
  put_u32(ihdr, p.width);
  put_u32(ihdr, p.height);
  ihdr.push_back(static_cast<unsigned char>(p.bit_depth));
  ihdr.push_back(static_cast<unsigned char>(p.color_type));
  ihdr.push_back(0); // compression
  ihdr.push_back(0); // filter method
  ihdr.push_back(0); // no interlace
  put_chunk(out, "IHDR", ihdr);
  if (!p.plte.empty()) put_chunk(out, "PLTE", p.plte);
  if (!p.trns.empty()) put_chunk(out, "tRNS", p.trns);
  uLongf size = compressBound(static_cast<uLong>(p.raw_rows.size()));
  std::vector<unsigned char> z(size);
  REQUIRE(compress(z.data(), &size, p.raw_rows.data(), static_cast<uLong>(p.raw_rows.size())) == Z_OK);
  z.resize(size);
  put_chunk(out, "IDAT", z);
  put_chunk(out, "IEND", {});
  return out;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("PNG round trips are bit exact for u8 and u16 with 1 to 4 channels", "[png][io]") {
  TempDir tmp("png");
  const auto dtype = GENERATE(lumen::DType::u8, lumen::DType::u16);
  const auto channels = GENERATE(1, 2, 3, 4);
  const lumen::Array image = random_image(dtype, 37, 53, channels, static_cast<unsigned>(channels * 7 + 1));
  const fs::path file = tmp.path() / "round.png";
  write_file(file, image);
  const auto decoded = lumen::png::read_png(file);
  CHECK(decoded.channels == channels);
  CHECK(decoded.bit_depth == (dtype == lumen::DType::u16 ? 16 : 8));
  CHECK(same_pixels(decoded.image, image));
}

TEST_CASE("every filter and compression level gives the same pixels", "[png][io]") {
  TempDir tmp("png");
  const lumen::Array image = random_image(lumen::DType::u16, 20, 31, 3, 5);
  for (const char* f : {"none", "sub", "up", "avg", "paeth", "all"}) {
    for (int level : {0, 1, 9}) {
      const fs::path file = tmp.path() / (std::string(f) + std::to_string(level) + ".png");
      write_file(file, image, {level, lumen::png::filter_from_name(f)});
      CHECK(same_pixels(lumen::png::read_png(file).image, image));
    }
  }
  CHECK_THROWS_AS(lumen::png::filter_from_name("fast"), lumen::Error);
}

TEST_CASE("16-bit samples are written big-endian", "[png][io]") {
  TempDir tmp("png");
  lumen::Array image(lumen::DType::u16, lumen::Shape{1, 2});
  image.writable<std::uint16_t>().data()[0] = 0x1234;
  image.writable<std::uint16_t>().data()[1] = 0xABCD;
  const fs::path file = tmp.path() / "be.png";
  write_file(file, image, {0, lumen::png::Filter::none}); // level 0: the IDAT holds the raw row
  const auto bytes = lumen::test::read_bytes(file);
  const std::vector<unsigned char> row = {0x00, 0x12, 0x34, 0xAB, 0xCD}; // filter byte, then big-endian samples
  CHECK(std::search(bytes.begin(), bytes.end(), row.begin(), row.end()) != bytes.end());
}

TEST_CASE("16-bit files made by hand decode to native values", "[png][io]") {
  TempDir tmp("png");
  HandPng p;
  p.width = 2;
  p.bit_depth = 16;
  p.raw_rows = {0x00, 0x12, 0x34, 0xAB, 0xCD};
  const fs::path file = tmp.path() / "hand16.png";
  put_file(file, hand_png(p));
  const auto d = lumen::png::read_png(file);
  REQUIRE(d.image.dtype() == lumen::DType::u16);
  REQUIRE(d.image.shape() == lumen::Shape{1, 2});
  CHECK(d.image.view<std::uint16_t>().at(0, 0) == 0x1234);
  CHECK(d.image.view<std::uint16_t>().at(0, 1) == 0xABCD);
}

TEST_CASE("palette, transparency and low bit depths expand", "[png][io]") {
  TempDir tmp("png");
  SECTION("palette becomes RGB") {
    HandPng p;
    p.width = 2;
    p.color_type = 3;
    p.plte = {10, 20, 30, 200, 210, 220};
    p.raw_rows = {0x00, 1, 0};
    put_file(tmp.path() / "pal.png", hand_png(p));
    const auto d = lumen::png::read_png(tmp.path() / "pal.png");
    REQUIRE(d.image.shape() == lumen::Shape{1, 2, 3});
    const auto v = d.image.view<std::uint8_t>();
    CHECK(v.at(0, 0, 0) == 200);
    CHECK(v.at(0, 0, 2) == 220);
    CHECK(v.at(0, 1, 1) == 20);
  }
  SECTION("palette with tRNS becomes RGBA") {
    HandPng p;
    p.width = 2;
    p.color_type = 3;
    p.plte = {10, 20, 30, 200, 210, 220};
    p.trns = {0};
    p.raw_rows = {0x00, 0, 1};
    put_file(tmp.path() / "palt.png", hand_png(p));
    const auto d = lumen::png::read_png(tmp.path() / "palt.png");
    REQUIRE(d.image.shape() == lumen::Shape{1, 2, 4});
    const auto v = d.image.view<std::uint8_t>();
    CHECK(v.at(0, 0, 3) == 0);
    CHECK(v.at(0, 1, 3) == 255);
    CHECK(v.at(0, 1, 0) == 200);
  }
  SECTION("1-bit gray is scaled to 0-255") {
    HandPng p;
    p.width = 8;
    p.bit_depth = 1;
    p.raw_rows = {0x00, 0b10100000};
    put_file(tmp.path() / "bits.png", hand_png(p));
    const auto d = lumen::png::read_png(tmp.path() / "bits.png");
    REQUIRE(d.image.shape() == lumen::Shape{1, 8});
    CHECK(d.file_bit_depth == 1);
    const auto v = d.image.view<std::uint8_t>();
    CHECK(v.at(0, 0) == 255);
    CHECK(v.at(0, 1) == 0);
    CHECK(v.at(0, 2) == 255);
    CHECK(v.at(0, 7) == 0);
  }
}

TEST_CASE("interlaced files decode like plain ones", "[png][io]") {
  TempDir tmp("png");
  const lumen::Array image = random_image(lumen::DType::u8, 13, 17, 3, 11);
  const fs::path file = tmp.path() / "adam7.png";
  {
    // Written with libpng directly (its default error handler aborts, fine in a test).
    std::FILE* f = std::fopen(file.c_str(), "wb");
    REQUIRE(f != nullptr);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_init_io(png, f);
    png_set_IHDR(png, info, 17, 13, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    std::vector<png_bytep> rows;
    auto* base = static_cast<png_bytep>(const_cast<void*>(image.raw()));
    for (int y = 0; y < 13; ++y) rows.push_back(base + y * 17 * 3);
    png_write_image(png, rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
  }
  CHECK(same_pixels(lumen::png::read_png(file).image, image));
}

TEST_CASE("strided views are written correctly", "[png][io]") {
  TempDir tmp("png");
  const lumen::Array image = random_image(lumen::DType::u8, 30, 40, 1, 3);
  const lumen::Array crop = image.crop(5, 7, 10, 20);
  write_file(tmp.path() / "crop.png", crop);
  CHECK(same_pixels(lumen::png::read_png(tmp.path() / "crop.png").image, crop));
}

TEST_CASE("bad files give an InputError naming the file", "[png][io][errors]") {
  TempDir tmp("png");
  const fs::path good = tmp.path() / "good.png";
  write_file(good, random_image(lumen::DType::u8, 64, 64, 3, 2), {9, lumen::png::Filter::none});
  const auto bytes = lumen::test::read_bytes(good);

  const auto expect_error = [](const fs::path& file, const std::string& words) {
    try {
      (void)lumen::png::read_png(file);
      FAIL("no error for " << file);
    } catch (const lumen::InputError& e) {
      const std::string what = e.what();
      CHECK(contains(what, file.string()));
      CHECK(contains(what, words));
    }
  };

  SECTION("truncated in the pixel data") {
    const fs::path file = tmp.path() / "half.png";
    put_file(file, std::vector<unsigned char>(bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 2)));
    expect_error(file, "truncated PNG");
  }
  SECTION("truncated in the header") {
    const fs::path file = tmp.path() / "head.png";
    put_file(file, std::vector<unsigned char>(bytes.begin(), bytes.begin() + 20));
    expect_error(file, "truncated PNG");
  }
  SECTION("missing its last chunk") {
    const fs::path file = tmp.path() / "noend.png";
    put_file(file, std::vector<unsigned char>(bytes.begin(), bytes.end() - 12));
    expect_error(file, "truncated PNG");
  }
  SECTION("damaged pixel data") {
    auto bad = bytes;
    for (std::size_t i = 60; i < 80; ++i) bad[i] ^= 0x5A;
    const fs::path file = tmp.path() / "crc.png";
    put_file(file, bad);
    expect_error(file, "corrupt PNG image data");
  }
  SECTION("not a PNG at all") {
    const fs::path file = tmp.path() / "text.png";
    put_file(file, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'});
    expect_error(file, "not a PNG");
  }
  SECTION("empty file") {
    const fs::path file = tmp.path() / "empty.png";
    put_file(file, {});
    expect_error(file, "not a PNG");
  }
  SECTION("missing file") {
    expect_error(tmp.path() / "absent.png", "cannot open");
  }
  SECTION("a header claiming a huge image") {
    HandPng p;
    p.width = 200000;
    p.height = 200000;
    p.raw_rows = {0x00, 0x00};
    const fs::path file = tmp.path() / "huge.png";
    put_file(file, hand_png(p));
    expect_error(file, "truncated or corrupt");
  }
}

TEST_CASE("only u8 and u16 images of 1 to 4 channels are encodable", "[png][io][errors]") {
  try {
    lumen::png::check_encodable(lumen::Array(lumen::DType::f32, lumen::Shape{4, 4}), "item 'x'");
    FAIL("f32 accepted");
  } catch (const lumen::InputError& e) {
    CHECK(contains(e.what(), "item 'x'"));
    CHECK(contains(e.what(), "image.to8bit"));
  }
  CHECK_THROWS_AS(lumen::png::check_encodable(lumen::Array(lumen::DType::u8, lumen::Shape{4, 4, 5}), "x"),
                  lumen::InputError);
  CHECK_THROWS_AS(lumen::png::check_encodable(lumen::Array(lumen::DType::u8, lumen::Shape{4}), "x"), lumen::InputError);
  CHECK_THROWS_AS(lumen::png::check_encodable(lumen::Array(), "x"), lumen::InputError);
  CHECK_NOTHROW(lumen::png::check_encodable(lumen::Array(lumen::DType::u16, lumen::Shape{4, 4, 4}), "x"));
}

TEST_CASE("png.write writes atomically under outputs and png.read reads the files back", "[png][stage]") {
  TempDir tmp("png");
  TestContext ctx(tmp.path() / "outputs");
  fs::create_directories(ctx.outputs_dir());

  lumen::png::PngWrite writer;
  writer.dir.assign(lumen::ParamValue{std::string("quick")});
  writer.name.assign(lumen::ParamValue{std::string("{stem}_{index:03d}.png")});
  writer.validate();
  writer.attach(ctx);
  writer.start();

  Collect out;
  std::vector<lumen::Array> images;
  for (std::int64_t i = 0; i < 3; ++i) {
    lumen::Item item("starfield/" + std::to_string(i));
    images.push_back(random_image(lumen::DType::u16, 8, 9, 1, static_cast<unsigned>(i)));
    item.set("image", images.back());
    item.meta.set("index", lumen::MetaValue{i});
    writer.process(item, out);
  }
  REQUIRE(out.items.size() == 3);
  CHECK(out.items[1].meta.get_string("png_path") == "quick/starfield_001.png");
  REQUIRE(ctx.recorded.size() == 3);
  CHECK(ctx.recorded[1].first == ctx.outputs_dir() / "quick/starfield_001.png");
  CHECK(ctx.recorded[1].second == fs::file_size(ctx.outputs_dir() / "quick/starfield_001.png"));
  for (const auto& e : fs::directory_iterator(ctx.outputs_dir() / "quick"))
    CHECK_FALSE(contains(e.path().string(), lumen::kTempSuffix));

  lumen::png::PngRead reader;
  reader.path.assign(lumen::ParamValue{(ctx.outputs_dir() / "quick").string()});
  reader.validate();
  reader.attach(ctx);
  reader.start();
  const auto units = reader.plan();
  REQUIRE(units.size() == 3);
  CHECK(units[2].id == "starfield_002.png");
  CHECK(units[2].source_file == (ctx.outputs_dir() / "quick" / "starfield_002.png").string());
  CHECK_FALSE(units[2].identity.empty());
  Collect got;
  reader.read(units[2], got);
  REQUIRE(got.items.size() == 1);
  const lumen::Item& item = got.items[0];
  CHECK(item.id() == "starfield_002");
  CHECK(item.meta.get_int("bit_depth") == 16);
  CHECK(item.meta.get_int("channels") == 1);
  CHECK(item.provenance.source_file == units[2].source_file);
  CHECK_FALSE(item.meta.has("units"));
  CHECK(same_pixels(item.array("image"), images[2]));
}

TEST_CASE("png.write refuses float images before creating a file", "[png][stage][errors]") {
  TempDir tmp("png");
  TestContext ctx(tmp.path());
  lumen::png::PngWrite writer;
  writer.attach(ctx);
  writer.start();
  lumen::Item item("frame");
  item.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{4, 4}));
  Collect out;
  CHECK_THROWS_AS(writer.process(item, out), lumen::InputError);
  CHECK(out.items.empty());
  CHECK(fs::is_empty(tmp.path()));
}

TEST_CASE("png stages check their parameters", "[png][stage][errors]") {
  lumen::png::PngWrite writer;
  writer.name.assign(lumen::ParamValue{std::string("{id.png")});
  CHECK_THROWS_AS(writer.validate(), lumen::ConfigError);

  lumen::png::PngRead reader;
  reader.path.assign(lumen::ParamValue{std::string("night*/frame.png")});
  CHECK_THROWS_AS(reader.validate(), lumen::ConfigError);

  TempDir tmp("png");
  reader.path.assign(lumen::ParamValue{tmp.path().string()});
  reader.validate();
  CHECK_THROWS_AS(reader.plan(), lumen::InputError);
}

TEST_CASE("the png plugin descriptor lists png.read and png.write", "[png][plugin]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 2);
  CHECK(table->stages[0].name == "png.read");
  CHECK(table->stages[1].name == "png.write");
  for (const auto& f : table->stages) {
    CHECK(f.concurrent);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
}
