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
#include <map>
#include <png.h>
#include <random>
#include <set>
#include <string>
#include <thread>
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

TEST_CASE("every encoder, filter and compression level gives the same pixels", "[png][io]") {
  TempDir tmp("png");
  const auto encoder = GENERATE(lumen::png::Encoder::libdeflate, lumen::png::Encoder::libpng);
  const auto dtype = GENERATE(lumen::DType::u8, lumen::DType::u16);
  const auto channels = GENERATE(1, 2, 3, 4);
  const lumen::Array image = random_image(dtype, 20, 31, channels, static_cast<unsigned>(channels) + 5);
  for (const char* f : {"none", "sub", "up", "avg", "paeth", "all"}) {
    for (int level : {0, 1, 2, 3, 6, 9}) {
      const fs::path file = tmp.path() / (std::string(f) + std::to_string(level) + ".png");
      write_file(file, image, {level, lumen::png::filter_from_name(f), lumen::png::Strategy::standard, encoder});
      CHECK(same_pixels(lumen::png::read_png(file).image, image));
    }
  }
  CHECK_THROWS_AS(lumen::png::filter_from_name("fast"), lumen::Error);
}

namespace {

struct Chunk {
  std::string type;
  std::size_t length = 0;
  bool crc_ok = false;
};

// The chunk list of a PNG file, each CRC checked with zlib's crc32 (independent of libdeflate).
std::vector<Chunk> chunks_of(const std::vector<unsigned char>& bytes) {
  std::vector<Chunk> out;
  const auto be32 = [&](std::size_t at) {
    return (std::uint32_t{bytes[at]} << 24) | (std::uint32_t{bytes[at + 1]} << 16) |
           (std::uint32_t{bytes[at + 2]} << 8) | std::uint32_t{bytes[at + 3]};
  };
  std::size_t at = 8;
  while (at + 12 <= bytes.size()) {
    const std::size_t length = be32(at);
    if (at + 12 + length > bytes.size()) break;
    const auto crc = static_cast<std::uint32_t>(crc32(0L, bytes.data() + at + 4, static_cast<uInt>(length + 4)));
    out.push_back({std::string(bytes.begin() + static_cast<long>(at) + 4, bytes.begin() + static_cast<long>(at) + 8),
                   length, crc == be32(at + 8 + length)});
    at += 12 + length;
  }
  return out;
}

// Inflates the concatenated IDAT data with zlib and returns the filter-type byte of every row.
std::vector<int> row_filters(const std::vector<unsigned char>& bytes, std::size_t row_bytes, std::size_t rows) {
  std::vector<unsigned char> z;
  std::size_t at = 8;
  while (at + 12 <= bytes.size()) {
    const std::size_t length = (std::size_t{bytes[at]} << 24) | (std::size_t{bytes[at + 1]} << 16) |
                               (std::size_t{bytes[at + 2]} << 8) | std::size_t{bytes[at + 3]};
    if (std::memcmp(bytes.data() + at + 4, "IDAT", 4) == 0)
      z.insert(z.end(), bytes.begin() + static_cast<long>(at) + 8, bytes.begin() + static_cast<long>(at + 8 + length));
    at += 12 + length;
  }
  std::vector<unsigned char> raw(rows * (row_bytes + 1));
  uLongf size = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(raw.data(), &size, z.data(), static_cast<uLong>(z.size())) == Z_OK);
  REQUIRE(size == raw.size());
  std::vector<int> types;
  for (std::size_t y = 0; y < rows; ++y) types.push_back(raw[y * (row_bytes + 1)]);
  return types;
}

} // namespace

TEST_CASE("the libdeflate encoder writes IHDR, IDAT and IEND with valid CRCs and the asked filters", "[png][io]") {
  TempDir tmp("png");
  // A smooth RGB ramp: filtering pays, so "all" picks filters other than none.
  lumen::Array ramp(lumen::DType::u8, lumen::Shape{40, 50, 3});
  {
    auto v = ramp.writable<std::uint8_t>();
    for (std::int64_t k = 0; k < v.size(); ++k) v.data()[k] = static_cast<std::uint8_t>((k / 3) % 50 * 3 + k % 3);
  }
  std::map<std::string, std::uintmax_t> sizes;
  for (const char* f : {"none", "sub", "up", "avg", "paeth", "all"}) {
    const fs::path file = tmp.path() / (std::string(f) + ".png");
    write_file(file, ramp, {6, lumen::png::filter_from_name(f)});
    const auto bytes = lumen::test::read_bytes(file);
    const std::vector<unsigned char> signature = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    REQUIRE(std::equal(signature.begin(), signature.end(), bytes.begin()));
    const auto chunks = chunks_of(bytes);
    REQUIRE(chunks.size() == 3);
    CHECK(chunks[0].type == "IHDR");
    CHECK(chunks[0].length == 13);
    CHECK(chunks[1].type == "IDAT");
    CHECK(chunks[2].type == "IEND");
    CHECK(chunks[2].length == 0);
    for (const auto& c : chunks) CHECK(c.crc_ok);
    CHECK(bytes[8 + 8 + 8] == 8); // bit depth
    CHECK(bytes[8 + 8 + 9] == 2); // colour type RGB
    const auto types = row_filters(bytes, 150, 40);
    const std::string name = f;
    if (name == "all") {
      CHECK(std::set<int>(types.begin(), types.end()).size() > 1); // chosen per row
    } else {
      const int expected = name == "none" ? 0 : name == "sub" ? 1 : name == "up" ? 2 : name == "avg" ? 3 : 4;
      CHECK(std::count(types.begin(), types.end(), expected) == 40);
    }
    sizes[name] = fs::file_size(file);
    CHECK(same_pixels(lumen::png::read_png(file).image, ramp));
  }
  CHECK(sizes["all"] < sizes["none"]);
  CHECK(sizes["sub"] < sizes["none"]);
}

TEST_CASE("the libdeflate encoder splits large images into 1 MiB IDAT chunks", "[png][io]") {
  TempDir tmp("png");
  // 3.6 MB of random bytes (incompressible) and a 19 MB u16 image: more than one IDAT chunk, and
  // buffers larger than the encoder keeps between calls; a small image after them still encodes.
  const lumen::Array noisy = random_image(lumen::DType::u8, 1000, 1200, 3, 21);
  const lumen::Array wide = random_image(lumen::DType::u16, 1500, 1600, 4, 22);
  const lumen::Array small = random_image(lumen::DType::u8, 7, 9, 1, 23);
  for (const auto* image : {&noisy, &wide, &small}) {
    const fs::path file = tmp.path() / "big.png";
    write_file(file, *image, {1, lumen::png::Filter::up});
    const auto chunks = chunks_of(lumen::test::read_bytes(file));
    std::vector<std::size_t> idat;
    for (const auto& c : chunks) {
      CHECK(c.crc_ok);
      if (c.type == "IDAT") idat.push_back(c.length);
    }
    REQUIRE_FALSE(idat.empty());
    for (std::size_t k = 0; k + 1 < idat.size(); ++k) CHECK(idat[k] == (std::size_t{1} << 20)); // all full but the last
    CHECK(idat.back() <= (std::size_t{1} << 20));
    // Random samples do not compress: the zlib stream is at least as long as the pixels.
    CHECK(idat.size() >= (image->nbytes() + (std::size_t{1} << 20) - 1) / (std::size_t{1} << 20));
    CHECK(same_pixels(lumen::png::read_png(file).image, *image));
  }
}

TEST_CASE("encoders are thread-safe and the libdeflate encoder takes no zlib strategy", "[png][io][errors]") {
  TempDir tmp("png");
  std::vector<lumen::Array> images;
  for (unsigned i = 0; i < 8; ++i) images.push_back(random_image(lumen::DType::u8, 64 + i, 64, 1 + i % 3, i));
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < 2; ++w)
    workers.emplace_back([&, w] {
      for (std::size_t i = w; i < images.size(); i += 2)
        for (int level = 1; level <= 3; ++level)
          write_file(tmp.path() / ("t" + std::to_string(i) + "_" + std::to_string(level) + ".png"), images[i],
                     {level, lumen::png::Filter::sub});
    });
  for (auto& t : workers) t.join();
  for (std::size_t i = 0; i < images.size(); ++i)
    for (int level = 1; level <= 3; ++level)
      CHECK(same_pixels(
          lumen::png::read_png(tmp.path() / ("t" + std::to_string(i) + "_" + std::to_string(level) + ".png")).image,
          images[i]));

  std::FILE* f = std::fopen((tmp.path() / "rle.png").c_str(), "wb");
  REQUIRE(f != nullptr);
  CHECK_THROWS_WITH(
      lumen::png::write_png(f, images[0], {1, lumen::png::Filter::none, lumen::png::Strategy::rle}, "rle.png"),
      Catch::Contains("rle.png") && Catch::Contains("libpng encoder"));
  std::fclose(f);
  CHECK(lumen::png::encoder_from_name("libpng") == lumen::png::Encoder::libpng);
  CHECK(lumen::png::encoder_from_name("libdeflate") == lumen::png::Encoder::libdeflate);
  CHECK_THROWS_WITH(lumen::png::encoder_from_name("zlib"), Catch::Contains("libdeflate or libpng"));
}

TEST_CASE("16-bit samples are written big-endian", "[png][io]") {
  TempDir tmp("png");
  lumen::Array image(lumen::DType::u16, lumen::Shape{1, 2});
  image.writable<std::uint16_t>().data()[0] = 0x1234;
  image.writable<std::uint16_t>().data()[1] = 0xABCD;
  const auto encoder = GENERATE(lumen::png::Encoder::libdeflate, lumen::png::Encoder::libpng);
  const fs::path file = tmp.path() / "be.png";
  // level 0: the IDAT holds the raw row
  write_file(file, image, {0, lumen::png::Filter::none, lumen::png::Strategy::standard, encoder});
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

TEST_CASE("png.write takes encoder libdeflate (default) or libpng: same pixels, different bytes", "[png][stage]") {
  TempDir tmp("png");
  TestContext ctx(tmp.path() / "outputs");
  fs::create_directories(ctx.outputs_dir());
  const lumen::Array image = random_image(lumen::DType::u8, 33, 21, 3, 9);
  std::map<std::string, std::vector<unsigned char>> bytes;
  for (const std::string encoder : {"", "libdeflate", "libpng"}) {
    lumen::png::PngWrite writer;
    writer.name.assign(lumen::ParamValue{std::string("img_" + encoder + ".png")});
    if (!encoder.empty()) writer.encoder.assign(lumen::ParamValue{encoder});
    writer.filter.assign(lumen::ParamValue{std::string("avg")});
    writer.validate();
    writer.attach(ctx);
    writer.start();
    lumen::Item item("img");
    item.set("image", image);
    Collect out;
    writer.process(item, out);
    REQUIRE(out.items.size() == 1);
    const fs::path file = ctx.outputs_dir() / ("img_" + encoder + ".png");
    CHECK(same_pixels(lumen::png::read_png(file).image, image));
    bytes[encoder] = lumen::test::read_bytes(file);
  }
  CHECK(bytes[""] == bytes["libdeflate"]);
  CHECK(bytes["libpng"] != bytes["libdeflate"]);
  lumen::png::PngWrite writer;
  CHECK_FALSE(writer.encoder.spec().check(lumen::ParamValue{std::string("zlib")}).empty());
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
