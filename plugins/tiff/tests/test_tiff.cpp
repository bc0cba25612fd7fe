// Unit tests for the `tiff` set: bit-exact round trips for every dtype x compression x
// strips/tiles x gray/RGB/stack; files made directly with libtiff for what tiff.write never
// produces (separate planes, signed 8-bit, 1-bit, tiles of separate planes); the real sample
// files against the values MANIFEST.md records; the numbered series against the multi-page
// file it was cut from; hand-made broken files (bad magic, absurd sizes, strips past the end,
// unsupported depths) and corrupted copies of a real file; the stages driven directly; and a
// cross-check with Debian's python3-tifffile in both directions.
//
// Run: build/bin/test_tiff   (or ctest -R tiff)
// The stages under test are used in pipelines like:
//   - id: in
//     use: tiff.read
//     with: {path: "frames/*.tif", series: true}
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "tiff_io.hpp"
#include "tiff_stages.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <tiffio.h>
#include <vector>

namespace fs = std::filesystem;
using lumen::Array;
using lumen::DType;
using lumen::Shape;
using lumen::test::TempDir;

namespace {

using lumen::test::error_of;
using lumen::test::same_pixels;

Array random_array(DType dtype, const Shape& shape, unsigned seed) {
  Array a(dtype, shape);
  std::mt19937 rng(seed);
  auto* p = static_cast<unsigned char*>(a.raw());
  // Smooth-ish data (so predictors matter) plus noise, as raw bytes for integer types.
  if (dtype == DType::f32) {
    for (auto& v : a.writable<float>()) v = static_cast<float>(rng() % 1000) * 0.25f - 17.5f;
  } else if (dtype == DType::f64) {
    for (auto& v : a.writable<double>()) v = static_cast<double>(rng() % 100000) * 1e-3 - 3.0;
  } else {
    for (std::size_t i = 0; i < a.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng() % 7 + (i / 97) % 200);
  }
  return a;
}

Array read_all(const fs::path& file) {
  lumen::tiff::TiffFile f(file);
  return f.pages() == 1 ? f.read_page(0) : f.read_pages(0, f.pages());
}

// Writes a TIFF straight through libtiff: for layouts tiff.write does not produce.
struct RawSpec {
  std::uint32_t width = 20, height = 13;
  std::uint16_t spp = 1, bits = 8, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
  std::uint16_t compression = COMPRESSION_NONE, photometric = PHOTOMETRIC_MINISBLACK;
  std::uint32_t tile = 0, rows_per_strip = 4;
};

// `planes`: the sample data as the file stores it (per plane for separate, interleaved else),
// packed rows; written strip by strip or tile by tile.
void write_raw(const fs::path& file, const RawSpec& s, const std::vector<unsigned char>& data) {
  TIFF* t = TIFFOpen(file.c_str(), "w");
  REQUIRE(t != nullptr);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, s.width);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, s.height);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, s.spp);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, s.bits);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, s.format);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, s.planar);
  TIFFSetField(t, TIFFTAG_COMPRESSION, s.compression);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, s.photometric);
  const bool contig = s.planar == PLANARCONFIG_CONTIG;
  const std::size_t row = (std::size_t{s.width} * (contig ? s.spp : 1) * s.bits + 7) / 8;
  const std::size_t plane = row * s.height;
  const std::size_t planes = contig ? 1 : s.spp;
  if (s.tile == 0) {
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
    const std::uint32_t strips = (s.height + s.rows_per_strip - 1) / s.rows_per_strip;
    for (std::size_t p = 0; p < planes; ++p)
      for (std::uint32_t k = 0; k < strips; ++k) {
        const std::uint32_t rows = std::min(s.rows_per_strip, s.height - k * s.rows_per_strip);
        std::vector<unsigned char> buf(data.begin() + static_cast<long>(p * plane + k * s.rows_per_strip * row),
                                       data.begin() +
                                           static_cast<long>(p * plane + (k * s.rows_per_strip + rows) * row));
        REQUIRE(TIFFWriteEncodedStrip(t, static_cast<std::uint32_t>(p * strips + k), buf.data(),
                                      static_cast<tmsize_t>(buf.size())) >= 0);
      }
  } else {
    TIFFSetField(t, TIFFTAG_TILEWIDTH, s.tile);
    TIFFSetField(t, TIFFTAG_TILELENGTH, s.tile);
    const std::size_t trow = (std::size_t{s.tile} * (contig ? s.spp : 1) * s.bits + 7) / 8;
    const std::size_t bytes_per_sample = s.bits / 8;
    for (std::size_t p = 0; p < planes; ++p)
      for (std::uint32_t y = 0; y < s.height; y += s.tile)
        for (std::uint32_t x = 0; x < s.width; x += s.tile) {
          std::vector<unsigned char> buf(trow * s.tile, 0);
          for (std::uint32_t r = 0; r < s.tile && y + r < s.height; ++r) {
            const std::uint32_t cols = std::min(s.tile, s.width - x);
            std::memcpy(buf.data() + r * trow,
                        data.data() + p * plane + (y + r) * row +
                            std::size_t{x} * (contig ? s.spp : 1) * bytes_per_sample,
                        std::size_t{cols} * (contig ? s.spp : 1) * bytes_per_sample);
          }
          REQUIRE(TIFFWriteEncodedTile(t, TIFFComputeTile(t, x, y, 0, static_cast<std::uint16_t>(p)), buf.data(),
                                       static_cast<tmsize_t>(buf.size())) >= 0);
        }
  }
  REQUIRE(TIFFWriteDirectory(t) == 1);
  TIFFClose(t);
}

// A minimal little-endian classic TIFF with one strip, entries given by hand: for headers
// that lie (sizes, offsets, depths).
struct HandTiff {
  std::uint32_t width = 4, height = 4, bits = 8, format = 1, spp = 1, compression = 1;
  std::uint32_t strip_offset = 0; // 0: right after the header
  std::uint32_t strip_bytes = 16;
  std::vector<unsigned char> pixels = std::vector<unsigned char>(16, 7);
};

std::vector<unsigned char> hand_tiff(const HandTiff& h) {
  std::vector<unsigned char> out = {'I', 'I', 42, 0};
  const auto u16 = [&](std::uint32_t v) {
    out.push_back(static_cast<unsigned char>(v));
    out.push_back(static_cast<unsigned char>(v >> 8));
  };
  const auto u32 = [&](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  const std::uint32_t n = 10;
  const std::uint32_t ifd = 8, data_at = ifd + 2 + n * 12 + 4;
  u32(ifd);
  u16(n);
  const auto entry = [&](std::uint32_t tag, std::uint32_t type, std::uint32_t value) {
    u16(tag);
    u16(type);
    u32(1);
    if (type == 3) {
      u16(value);
      u16(0);
    } else {
      u32(value);
    }
  };
  entry(256, 4, h.width);
  entry(257, 4, h.height);
  entry(258, 3, h.bits);
  entry(259, 3, h.compression);
  entry(262, 3, 1);
  entry(273, 4, h.strip_offset ? h.strip_offset : data_at);
  entry(277, 3, h.spp);
  entry(278, 4, h.height);
  entry(279, 4, h.strip_bytes);
  entry(339, 3, h.format);
  u32(0);
  out.insert(out.end(), h.pixels.begin(), h.pixels.end());
  return out;
}

lumen::tiff::WriteOptions options(const std::string& compression, int tile = 0) {
  lumen::tiff::WriteOptions o;
  o.compression = compression;
  o.tile = tile;
  return o;
}

bool have_python_module(const std::string& module) {
  return std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

} // namespace

// ---- round trips ----------------------------------------------------------------------------

TEST_CASE("round trips are bit exact for every dtype, compression, strips and tiles, gray, RGB and stacks",
          "[tiff][io]") {
  TempDir tmp("tiff");
  const auto dtype = GENERATE(DType::u8, DType::u16, DType::i16, DType::u32, DType::i32, DType::f32, DType::f64);
  const std::string compression = GENERATE("none", "lzw", "deflate", "zstd", "packbits");
  const int tile = GENERATE(0, 16);
  const int threads = GENERATE(0, 3); // 0: libtiff's codecs; 3: deflate/zstd in a pool
  std::unique_ptr<lumen::ThreadPool> pool;
  if (threads > 0) pool = std::make_unique<lumen::ThreadPool>(threads);
  if (!lumen::tiff::can_encode(compression)) {
    WARN("SKIPPED: this libtiff cannot encode " << compression);
    return;
  }
  for (const Shape& shape : {Shape{37, 53}, Shape{21, 18, 3}, Shape{3, 19, 40}, Shape{2, 17, 16, 4}}) {
    INFO(lumen::dtype_name(dtype) << " " << compression << " tile " << tile << " threads " << threads << " "
                                  << shape.str());
    const Array image = random_array(dtype, shape, static_cast<unsigned>(shape.size()));
    lumen::tiff::WriteOptions o = options(compression, tile);
    const bool floats = dtype == DType::f32 || dtype == DType::f64;
    if (compression == "lzw" || compression == "deflate" || compression == "zstd")
      o.predictor = floats ? "float" : "horizontal";
    const fs::path file = tmp.path() / "round.tif";
    lumen::tiff::write_tiff(file, image, o, "test", pool.get());
    CHECK(same_pixels(read_all(file), image));
  }
}

namespace {

struct Tags {
  std::uint16_t compression = 0, predictor = 0;
  std::uint32_t rows_per_strip = 0, tile = 0, pages = 0;
  bool operator==(const Tags&) const = default;
};

Tags tags_of(const fs::path& file) {
  Tags t;
  TIFF* tif = TIFFOpen(file.c_str(), "r");
  REQUIRE(tif != nullptr);
  TIFFGetField(tif, TIFFTAG_COMPRESSION, &t.compression);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PREDICTOR, &t.predictor);
  TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &t.rows_per_strip);
  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &t.tile);
  t.pages = TIFFNumberOfDirectories(tif);
  TIFFClose(tif);
  return t;
}

} // namespace

TEST_CASE("the pool's deflate and zstd files decode like libtiff's own, for every predictor", "[tiff][io][parallel]") {
  TempDir tmp("tiff");
  lumen::ThreadPool pool(3);
  const auto dtype = GENERATE(DType::u8, DType::u16, DType::i16, DType::u32, DType::i32, DType::f32, DType::f64);
  const std::string compression = GENERATE("deflate", "zstd");
  const bool floats = dtype == DType::f32 || dtype == DType::f64;
  if (!lumen::tiff::can_encode(compression)) {
    WARN("SKIPPED: this libtiff cannot encode " << compression);
    return;
  }
  // Several strips per page (pages over 256 KiB), ragged last strips and edge tiles, colour
  // with 2..4 channels (the predictor's stride), and stacks whose pages cross pool batches.
  for (const Shape& shape : {Shape{6, 300, 230}, Shape{301, 203, 3}, Shape{2, 150, 97, 4}, Shape{77, 45, 2}})
    for (const std::string& predictor : {std::string("none"), std::string(floats ? "float" : "horizontal")})
      for (const int tile : {0, 32}) {
        INFO(lumen::dtype_name(dtype) << " " << compression << " " << predictor << " tile " << tile << " "
                                      << shape.str());
        const Array image = random_array(dtype, shape, static_cast<unsigned>(shape.size() + 7));
        lumen::tiff::WriteOptions o = options(compression, tile);
        o.predictor = predictor;
        o.level = compression == "zstd" ? 3 : 0; // zstd's default (9) is slow for a test
        lumen::tiff::write_tiff(tmp.path() / "serial.tif", image, o, "test");
        lumen::tiff::write_tiff(tmp.path() / "pool.tif", image, o, "test", &pool);
        const Array serial = read_all(tmp.path() / "serial.tif"), parallel = read_all(tmp.path() / "pool.tif");
        CHECK(same_pixels(parallel, serial));
        CHECK(same_pixels(parallel, image));
        CHECK(tags_of(tmp.path() / "pool.tif") == tags_of(tmp.path() / "serial.tif"));
      }
}

TEST_CASE("the pool's strips are compressed: smaller than the data, and each decodes by itself",
          "[tiff][io][parallel]") {
  TempDir tmp("tiff");
  lumen::ThreadPool pool(2);
  const Array image = random_array(DType::u16, Shape{4, 512, 512}, 11);
  lumen::tiff::WriteOptions o = options("deflate");
  o.predictor = "horizontal";
  lumen::tiff::write_tiff(tmp.path() / "p.tif", image, o, "test", &pool);
  CHECK(fs::file_size(tmp.path() / "p.tif") < image.nbytes() / 2);
  // Random access: decode strips out of order with TIFFReadEncodedStrip.
  TIFF* tif = TIFFOpen((tmp.path() / "p.tif").c_str(), "r");
  REQUIRE(tif != nullptr);
  REQUIRE(TIFFSetDirectory(tif, 3) == 1);
  const auto strips = TIFFNumberOfStrips(tif);
  REQUIRE(strips >= 2);
  std::vector<std::uint16_t> row(512 * 512);
  const tmsize_t strip_bytes = TIFFStripSize(tif);
  for (std::uint32_t s = strips; s-- > 0;) {
    const tmsize_t got = TIFFReadEncodedStrip(tif, s, row.data(), strip_bytes);
    REQUIRE(got > 0);
    const auto* want = static_cast<const unsigned char*>(image.raw()) + 3 * 512 * 512 * 2 +
                       static_cast<std::size_t>(s) * static_cast<std::size_t>(strip_bytes);
    CHECK(std::memcmp(row.data(), want, static_cast<std::size_t>(got)) == 0);
  }
  TIFFClose(tif);
}

TEST_CASE("a pool shared by concurrent writers keeps every file intact", "[tiff][io][parallel]") {
  TempDir tmp("tiff");
  lumen::ThreadPool pool(2);
  std::vector<Array> images;
  for (unsigned i = 0; i < 4; ++i) images.push_back(random_array(DType::u16, Shape{3, 300, 260}, 20 + i));
  {
    std::vector<std::jthread> writers;
    for (std::size_t i = 0; i < images.size(); ++i)
      writers.emplace_back([&, i] {
        lumen::tiff::WriteOptions o = options(i % 2 ? "zstd" : "deflate", i == 3 ? 16 : 0);
        o.predictor = "horizontal";
        lumen::tiff::write_tiff(tmp.path() / ("w" + std::to_string(i) + ".tif"), images[i], o, "test", &pool);
      });
  }
  for (std::size_t i = 0; i < images.size(); ++i)
    CHECK(same_pixels(read_all(tmp.path() / ("w" + std::to_string(i) + ".tif")), images[i]));
}

TEST_CASE("layout decides how a 3-D array is written", "[tiff][io]") {
  TempDir tmp("tiff");
  const Array a = random_array(DType::u8, Shape{5, 6, 3}, 3);
  lumen::tiff::WriteOptions o;
  o.layout = "stack";
  lumen::tiff::write_tiff(tmp.path() / "s.tif", a, o, "t");
  lumen::tiff::TiffFile f(tmp.path() / "s.tif");
  CHECK(f.pages() == 5);
  CHECK(same_pixels(f.read_pages(0, 5), a));
  o.layout = "auto";
  lumen::tiff::write_tiff(tmp.path() / "c.tif", a, o, "t");
  CHECK(lumen::tiff::TiffFile(tmp.path() / "c.tif").read_page(0).shape() == Shape{5, 6, 3});
}

TEST_CASE("unwritable images are refused before a file is made", "[tiff][io]") {
  lumen::tiff::WriteOptions o;
  CHECK_THAT(error_of([&] { lumen::tiff::check_writable(Array(DType::u8, Shape{10}), o, "item 'x'"); }),
             Catch::Contains("item 'x'") && Catch::Contains("2-D"));
  CHECK_THAT(error_of([&] {
               lumen::tiff::check_writable(Array(DType::u8, Shape{4, 4, 4, 7}), o, "item 'x'");
             }),
             Catch::Contains("7 channels"));
  o.predictor = "float";
  CHECK_THAT(error_of([&] {
               lumen::tiff::check_writable(Array(DType::u16, Shape{4, 4}), o, "item 'x'");
             }),
             Catch::Contains("predictor float needs an f32 or f64 image"));
  o.predictor = "horizontal";
  CHECK_THAT(error_of([&] {
               lumen::tiff::check_writable(Array(DType::f32, Shape{4, 4}), o, "item 'x'");
             }),
             Catch::Contains("use predictor: float"));
}

// ---- layouts only other writers produce -------------------------------------------------------

TEST_CASE("separate planes, strips and tiles, read as (H, W, C)", "[tiff][io]") {
  TempDir tmp("tiff");
  const std::uint16_t compression = GENERATE(COMPRESSION_NONE, COMPRESSION_LZW, COMPRESSION_ADOBE_DEFLATE);
  const std::uint32_t tile = GENERATE(0u, 16u);
  RawSpec s;
  s.width = 37, s.height = 21, s.spp = 3, s.bits = 16, s.planar = PLANARCONFIG_SEPARATE;
  s.photometric = PHOTOMETRIC_RGB, s.compression = compression, s.tile = tile;
  std::vector<unsigned char> data(std::size_t{37} * 21 * 3 * 2);
  std::vector<std::uint16_t> planes(std::size_t{37} * 21 * 3);
  for (std::size_t i = 0; i < planes.size(); ++i) planes[i] = static_cast<std::uint16_t>(i * 7 + 3);
  std::memcpy(data.data(), planes.data(), data.size());
  write_raw(tmp.path() / "sep.tif", s, data);
  const Array a = lumen::tiff::TiffFile(tmp.path() / "sep.tif").read_page(0);
  REQUIRE(a.shape() == Shape{21, 37, 3});
  const auto v = a.view<std::uint16_t>();
  const std::size_t plane = std::size_t{37} * 21;
  for (std::size_t y = 0; y < 21; ++y)
    for (std::size_t x = 0; x < 37; ++x)
      for (std::size_t c = 0; c < 3; ++c) REQUIRE(v.data()[(y * 37 + x) * 3 + c] == planes[c * plane + y * 37 + x]);
}

TEST_CASE("signed 8-bit becomes i16 and 1-bit becomes 0 or 255", "[tiff][io]") {
  TempDir tmp("tiff");
  RawSpec s;
  s.format = SAMPLEFORMAT_INT;
  std::vector<unsigned char> data(std::size_t{20} * 13);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<unsigned char>(static_cast<std::int8_t>(i % 256 - 128));
  write_raw(tmp.path() / "i8.tif", s, data);
  const Array a = lumen::tiff::TiffFile(tmp.path() / "i8.tif").read_page(0);
  REQUIRE(a.dtype() == DType::i16);
  CHECK(a.view<std::int16_t>().data()[0] == -128);
  CHECK(a.view<std::int16_t>().data()[200] == static_cast<std::int8_t>(200 - 128));

  RawSpec b;
  b.width = 11, b.height = 3, b.bits = 1, b.photometric = PHOTOMETRIC_MINISBLACK, b.rows_per_strip = 3;
  // Rows are byte-aligned: 11 pixels take 2 bytes. Row 0: 10110000 111xxxxx.
  std::vector<unsigned char> bits = {0xB0, 0xE0, 0xFF, 0xE0, 0x00, 0x00};
  write_raw(tmp.path() / "b.tif", b, bits);
  const Array m = lumen::tiff::TiffFile(tmp.path() / "b.tif").read_page(0);
  REQUIRE(m.shape() == Shape{3, 11});
  const auto mv = m.view<std::uint8_t>();
  const std::vector<int> row0 = {255, 0, 255, 255, 0, 0, 0, 0, 255, 255, 255};
  for (int x = 0; x < 11; ++x) CHECK(mv.at(0, x) == row0[static_cast<std::size_t>(x)]);
  CHECK(mv.at(1, 10) == 255);
  CHECK(mv.at(2, 5) == 0);
}

// ---- real sample files ------------------------------------------------------------------------

TEST_CASE("cylindra ImageJ stack: 36 pages of 206x94 u8 with unit and spacing", "[tiff][real]") {
  LUMEN_SHARED_FILE(file, "tiff/cylindra_13pf_MT_cryoET_stack.tif");
  lumen::tiff::TiffFile f(file);
  REQUIRE(f.pages() == 36);
  const auto info = f.select(0);
  lumen::Meta meta;
  f.read_meta(info, meta);
  CHECK(meta.get_string("imagej_unit") == "nm");
  CHECK(meta.get_number("imagej_spacing").value() == Approx(1.052));
  CHECK(meta.get_int("imagej_images") == 36);
  CHECK(meta.get_string("compression") == "none");
  const Array a = f.read_pages(0, 36);
  CHECK(a.shape() == Shape{36, 206, 94});
  CHECK(a.dtype() == DType::u8);
}

TEST_CASE("the numbered series reassembles exactly into the multi-page file", "[tiff][real][series]") {
  LUMEN_SHARED_FILE(stack_file, "tiff/cylindra_13pf_MT_cryoET_stack.tif");
  const Array stack = read_all(stack_file);
  lumen::tiff::TiffRead reader;
  reader.path.assign(lumen::ParamValue{(stack_file.parent_path() / "numbered_13pf_MT_u8" / "slice_*.tif").string()});
  reader.series.assign(lumen::ParamValue{true});
  reader.validate();
  TempDir tmp("tiff");
  lumen::testing::Context ctx(tmp.path());
  reader.attach(ctx);
  const auto units = reader.plan();
  REQUIRE(units.size() == 1);
  lumen::testing::Collect out;
  reader.read(units[0], out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].id() == "slice");
  CHECK(out.items[0].meta.get_int("pages") == 36);
  CHECK(same_pixels(out.items[0].array("image"), stack));

  // The same series streamed in blocks of 10 frames, and frame by frame.
  reader.frames_per_item.assign(lumen::ParamValue{std::int64_t{10}});
  const auto blocks = reader.plan();
  REQUIRE(blocks.size() == 4);
  lumen::testing::Collect parts;
  for (const auto& u : blocks) reader.read(u, parts);
  REQUIRE(parts.items.size() == 4);
  CHECK(parts.items[3].id() == "slice/0030");
  CHECK(parts.items[3].meta.get_int("index") == 30);
  CHECK(same_pixels(parts.items[3].array("image"), stack.slice(30, 36)));

  reader.frames_per_item.assign(lumen::ParamValue{std::int64_t{0}});
  reader.mode.assign(lumen::ParamValue{std::string("frames")});
  const auto frames = reader.plan();
  REQUIRE(frames.size() == 36);
  lumen::testing::Collect one;
  reader.read(frames[17], one);
  REQUIRE(one.items.size() == 1);
  CHECK(one.items[0].meta.get_int("index") == 17);
  CHECK(same_pixels(one.items[0].array("image"), stack.slice(17, 18).reshape(Shape{206, 94})));
}

TEST_CASE("hamamatsu streak camera frame: 508x672 u16, 0..67", "[tiff][real]") {
  LUMEN_SHARED_FILE(file, "tiff/hamamatsu_streak_FOCUS_u16.tif");
  lumen::tiff::TiffFile f(file);
  const Array a = f.read_page(0);
  REQUIRE(a.shape() == Shape{508, 672});
  REQUIRE(a.dtype() == DType::u16);
  const auto v = a.view<std::uint16_t>();
  CHECK(*std::min_element(v.begin(), v.end()) == 0);
  CHECK(*std::max_element(v.begin(), v.end()) == 67);
  lumen::Meta meta;
  f.read_meta(f.select(0), meta);
  CHECK(meta.get_string("software") == "HPD-TA 9.5 pf4");
}

TEST_CASE("zeiss SEM: 2 pages of 1536x2048 u8", "[tiff][real]") {
  LUMEN_SHARED_FILE(file, "tiff/zeiss_SEM_multipage.tif");
  const Array a = read_all(file);
  CHECK(a.shape() == Shape{2, 1536, 2048});
  CHECK(a.dtype() == DType::u8);
}

TEST_CASE("hyperspy ImageJ stack: 2 pages of 68x68 f32, 2866..3774, micron", "[tiff][real]") {
  LUMEN_SHARED_FILE(file, "tiff/hyperspy_imageJ_stack.tif");
  lumen::tiff::TiffFile f(file);
  const Array a = f.read_pages(0, 2);
  REQUIRE(a.shape() == Shape{2, 68, 68});
  REQUIRE(a.dtype() == DType::f32);
  const auto v = a.view<float>();
  CHECK(*std::min_element(v.begin(), v.end()) == 2866.0f);
  CHECK(*std::max_element(v.begin(), v.end()) == 3774.0f);
  lumen::Meta meta;
  f.read_meta(f.select(0), meta);
  CHECK(meta.get_string("imagej_unit") == "micron");
  CHECK(meta.get_number("imagej_spacing").value() == Approx(2.5));
}

// ---- bad input --------------------------------------------------------------------------------

TEST_CASE("broken headers fail with the file and the problem in the message", "[tiff][bad]") {
  TempDir tmp("tiff");
  const fs::path f = tmp.path() / "bad.tif";
  const auto put = [&](const std::vector<unsigned char>& bytes) { lumen::test::write_bytes(f, bytes); };
  const auto read = [&] { (void)read_all(f); };

  put({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK_THAT(error_of(read), Catch::Contains(f.string()) && Catch::Contains("not a readable TIFF"));
  put({'I', 'I', 42});
  CHECK_THAT(error_of(read), Catch::Contains(f.string()) && Catch::Contains("not a TIFF file"));

  HandTiff ok;
  put(hand_tiff(ok));
  CHECK(read_all(f).shape() == Shape{4, 4});

  HandTiff huge = ok;
  huge.width = 100000, huge.height = 100000;
  put(hand_tiff(huge)); // uncompressed: libtiff stretches the strip to the size the header claims
  CHECK_THAT(error_of(read), Catch::Contains(f.string()) && Catch::Contains("lies beyond the end of the file"));
  huge.compression = 8; // deflate: no codec turns 16 bytes into 10^10
  put(hand_tiff(huge));
  CHECK_THAT(error_of(read), Catch::Contains(f.string()) && Catch::Contains("stores only 16 bytes of deflate data"));

  HandTiff zero = ok;
  zero.width = 0;
  put(hand_tiff(zero));
  CHECK_THAT(error_of(read), Catch::Contains(f.string()));

  HandTiff past = ok;
  past.strip_offset = 5000;
  put(hand_tiff(past));
  CHECK_THAT(error_of(read), Catch::Contains("lies beyond the end of the file") && Catch::Contains("truncated"));

  HandTiff twelve = ok;
  twelve.bits = 12;
  put(hand_tiff(twelve));
  CHECK_THAT(error_of(read), Catch::Contains("unsupported 12-bit uint samples"));

  HandTiff complex = ok;
  complex.format = 6, complex.bits = 32, complex.pixels.resize(64), complex.strip_bytes = 64;
  put(hand_tiff(complex));
  CHECK_THAT(error_of(read), Catch::Contains("unsupported sample format complex_float"));

  HandTiff f16 = ok;
  f16.format = 3, f16.bits = 16, f16.pixels.resize(32), f16.strip_bytes = 32;
  put(hand_tiff(f16));
  CHECK_THAT(error_of(read), Catch::Contains("16-bit float"));

  HandTiff short_strip = ok;
  short_strip.strip_bytes = 5, short_strip.pixels.resize(5);
  put(hand_tiff(short_strip));
  CHECK_THAT(error_of(read), Catch::Contains(f.string()) && Catch::Contains("truncated"));

  CHECK_THAT(error_of([&] { (void)read_all(tmp.path() / "missing.tif"); }), Catch::Contains("missing.tif"));
}

TEST_CASE("truncated and corrupted copies of real files never crash", "[tiff][bad]") {
  LUMEN_SHARED_FILE(file, "tiff/hamamatsu_streak_FOCUS_u16.tif");
  TempDir tmp("tiff");
  const auto variants = lumen::test::corrupt_variants(file, tmp.path(), 1024, 96);
  // The file has 2688 bytes after its last strip (688212) that no tag points to: cutting
  // only those cannot be noticed. Every cut into the header or the pixels must be.
  constexpr std::uintmax_t end_of_pixels = 688212;
  int failed = 0;
  for (const auto& v : variants) {
    INFO(v.what);
    try {
      (void)read_all(v.path);
      CHECK_FALSE((v.truncated && fs::file_size(v.path) < end_of_pixels));
    } catch (const lumen::InputError& e) {
      CHECK_THAT(e.what(), Catch::Contains(v.path.string()));
      ++failed;
    }
  }
  CHECK(failed >= 5);
}

TEST_CASE("a compressed multi-page file cut short fails on the missing page", "[tiff][bad]") {
  TempDir tmp("tiff");
  const fs::path good = tmp.path() / "good.tif";
  lumen::tiff::write_tiff(good, random_array(DType::u16, Shape{4, 64, 64}, 9), options("deflate"), "t");
  auto bytes = lumen::test::read_bytes(good);
  for (const std::size_t keep : {bytes.size() / 2, bytes.size() - 40, bytes.size() - 200, std::size_t{300}}) {
    INFO("cut to " << keep << " of " << bytes.size());
    std::vector<unsigned char> cut(bytes.begin(), bytes.begin() + static_cast<long>(keep));
    lumen::test::write_bytes(tmp.path() / "cut.tif", cut);
    CHECK_THROWS_AS(read_all(tmp.path() / "cut.tif"), lumen::InputError);
  }
}

// ---- stages -----------------------------------------------------------------------------------

TEST_CASE("tiff.read modes: frames, stack and blocks of pages", "[tiff][stage]") {
  TempDir tmp("tiff");
  const Array stack = random_array(DType::u16, Shape{5, 12, 9}, 4);
  lumen::tiff::write_tiff(tmp.path() / "s.tif", stack, options("lzw"), "t");
  lumen::testing::Context ctx(tmp.path());
  lumen::tiff::TiffRead r;
  r.path.assign(lumen::ParamValue{(tmp.path() / "s.tif").string()});
  r.attach(ctx);
  lumen::testing::Collect whole;
  for (const auto& u : r.plan()) r.read(u, whole);
  REQUIRE(whole.items.size() == 1);
  CHECK(same_pixels(whole.items[0].array("image"), stack));
  CHECK(whole.items[0].meta.get_string("compression") == "lzw");

  r.mode.assign(lumen::ParamValue{std::string("frames")});
  lumen::testing::Collect frames;
  for (const auto& u : r.plan()) r.read(u, frames);
  REQUIRE(frames.items.size() == 5);
  CHECK(frames.items[3].id() == "s/0003");
  CHECK(frames.items[3].meta.get_int("index") == 3);
  CHECK(frames.items[3].array("image").shape() == Shape{12, 9});

  r.mode.assign(lumen::ParamValue{std::string("stack")});
  r.frames_per_item.assign(lumen::ParamValue{std::int64_t{2}});
  const auto units = r.plan();
  REQUIRE(units.size() == 3);
  lumen::testing::Collect blocks;
  for (const auto& u : units) r.read(u, blocks);
  CHECK(blocks.items[2].array("image").shape() == Shape{1, 12, 9});
  CHECK(same_pixels(blocks.items[1].array("image"), stack.slice(2, 4)));

  r.mode.assign(lumen::ParamValue{std::string("frames")});
  CHECK_THROWS_AS(r.validate(), lumen::ConfigError);
}

TEST_CASE("a series with an odd file names that file", "[tiff][stage][series]") {
  TempDir tmp("tiff");
  for (int i = 0; i < 4; ++i)
    lumen::tiff::write_tiff(tmp.path() / ("f_" + std::to_string(i) + ".tif"),
                            random_array(DType::u8, i == 2 ? Shape{8, 9} : Shape{8, 8}, 1), options("none"), "t");
  lumen::testing::Context ctx(tmp.path());
  lumen::tiff::TiffRead r;
  r.path.assign(lumen::ParamValue{(tmp.path() / "f_*.tif").string()});
  r.series.assign(lumen::ParamValue{true});
  r.attach(ctx);
  const auto units = r.plan();
  lumen::testing::Collect out;
  CHECK_THAT(error_of([&] { r.read(units[0], out); }),
             Catch::Contains("f_2.tif") && Catch::Contains("is 9x8 u8 but the series starts with f_0.tif"));
  r.mode.assign(lumen::ParamValue{std::string("frames")});
  const auto frames = r.plan();
  REQUIRE(frames.size() == 4);
  r.read(frames[1], out);
  CHECK_THAT(error_of([&] { r.read(frames[2], out); }), Catch::Contains("f_2.tif"));
  r.read(frames[3], out);
  CHECK(out.items.size() == 2);
}

TEST_CASE("tiff.write writes atomically, records the file and checks its parameters", "[tiff][stage]") {
  TempDir tmp("tiff");
  lumen::testing::Context ctx(tmp.path(), "save");
  lumen::tiff::TiffWrite w;
  w.compression.assign(lumen::ParamValue{std::string("deflate")});
  w.attach(ctx);
  w.validate();
  w.start();
  lumen::Item item("frame");
  item.meta.set("exposure", 1.5, "seconds");
  const Array image = random_array(DType::f32, Shape{10, 11}, 2);
  item.set("image", image);
  lumen::testing::Collect out;
  w.process(item, out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].meta.get_string("tiff_path") == "frame.tif");
  REQUIRE(ctx.recorded.size() == 1);
  CHECK(same_pixels(read_all(tmp.path() / "frame.tif"), image));
  lumen::Meta meta;
  lumen::tiff::TiffFile f(tmp.path() / "frame.tif");
  f.read_meta(f.select(0), meta);
  // The item's meta came back as meta (not as a description holding JSON), so a second round
  // trip does not nest the first one's text.
  CHECK_FALSE(meta.has("description"));
  CHECK(meta.get_number("exposure") == 1.5);
  CHECK(meta.find("exposure")->comment == "seconds");
  // The description is tifffile's shaped JSON (tifffile reads the array with its shape); a
  // shaped description from any other writer stays text.
  CHECK_THAT(lumen::tiff::description_for(image, out.items[0].meta),
             Catch::StartsWith("{\"shape\": [10,11], \"lumen_meta\": {"));
  CHECK_FALSE(lumen::tiff::meta_from_description("{\"shape\": [100, 100]}").has_value());
  CHECK_FALSE(lumen::tiff::meta_from_description("ImageJ=1.51d\nunit=micron").has_value());
  CHECK_THAT(meta.get_string("software").value(), Catch::StartsWith("Lumen "));
  for (const auto& e : fs::directory_iterator(tmp.path())) CHECK(e.path().extension() != ".lumen-tmp");

  lumen::Item bad("bad");
  bad.set("image", Array(DType::u8, Shape{3, 3, 3, 9}));
  CHECK_THROWS_AS(w.process(bad, out), lumen::InputError);
  CHECK_FALSE(fs::exists(tmp.path() / "bad.tif"));

  lumen::tiff::TiffWrite w2;
  w2.predictor.assign(lumen::ParamValue{std::string("horizontal")});
  CHECK_THROWS_AS(w2.validate(), lumen::ConfigError);
  lumen::tiff::TiffWrite w3;
  w3.tile.assign(lumen::ParamValue{std::int64_t{20}});
  CHECK_THROWS_AS(w3.validate(), lumen::ConfigError);
}

// ---- cross-check with tifffile ----------------------------------------------------------------

TEST_CASE("tifffile reads what tiff.write writes, and tiff.read reads what tifffile writes", "[tiff][python]") {
  if (!have_python_module("tifffile") || !have_python_module("numpy")) {
    WARN("SKIPPED: /usr/bin/python3 with tifffile and numpy not available");
    return;
  }
  TempDir tmp("tiff");
  const std::string dump = "import sys, tifffile; a = tifffile.imread(sys.argv[1]); "
                           "open(sys.argv[2], 'wb').write(a.tobytes()); print(a.shape, a.dtype)";
  for (const auto& [dtype, shape, compression, tile] :
       {std::tuple{DType::u16, Shape{3, 40, 50}, "deflate", 16}, std::tuple{DType::f32, Shape{33, 20}, "none", 0},
        std::tuple{DType::i32, Shape{20, 30, 3}, "deflate", 0}, std::tuple{DType::u8, Shape{20, 30, 4}, "none", 32}}) {
    const Array image = random_array(dtype, shape, 5);
    lumen::tiff::write_tiff(tmp.path() / "l.tif", image, options(compression, tile), "t");
    const std::string cmd = "/usr/bin/python3 -c \"" + dump + "\" " + (tmp.path() / "l.tif").string() + " " +
                            (tmp.path() / "l.bin").string();
    REQUIRE(std::system(cmd.c_str()) == 0);
    const auto bytes = lumen::test::read_bytes(tmp.path() / "l.bin");
    REQUIRE(bytes.size() == image.nbytes());
    CHECK(std::memcmp(bytes.data(), image.raw(), bytes.size()) == 0);
  }

  // tifffile writes: zlib tiles with predictor, separate planes, int8, multi-page float.
  const std::string make =
      "import numpy as np, tifffile, sys; d = sys.argv[1]; r = np.random.default_rng(1)\n"
      "a = r.integers(0, 60000, (45, 70, 3), dtype=np.uint16)\n"
      "tifffile.imwrite(d + '/a.tif', a, compression='zlib', tile=(16, 32), predictor=True, photometric='rgb')\n"
      "tifffile.imwrite(d + '/b.tif', np.moveaxis(a, 2, 0), planarconfig='separate', photometric='rgb')\n"
      "c = r.integers(-128, 127, (30, 20), dtype=np.int8); tifffile.imwrite(d + '/c.tif', c)\n"
      "e = r.random((4, 10, 12)).astype(np.float64); tifffile.imwrite(d + '/e.tif', e, compression='zlib', "
      "photometric='minisblack')\n"
      "for n, x in (('a', a), ('b', a), ('c', c.astype(np.int16)), ('e', e)): open(d + '/' + n + '.bin', "
      "'wb').write(x.tobytes())\n";
  lumen::test::write_bytes(tmp.path() / "make.py", std::vector<unsigned char>(make.begin(), make.end()));
  REQUIRE(std::system(("/usr/bin/python3 " + (tmp.path() / "make.py").string() + " " + tmp.path().string()).c_str()) ==
          0);
  for (const char* name : {"a", "b", "c", "e"}) {
    INFO(name);
    const Array a = read_all(tmp.path() / (std::string(name) + ".tif"));
    const auto bytes = lumen::test::read_bytes(tmp.path() / (std::string(name) + ".bin"));
    REQUIRE(bytes.size() == a.nbytes());
    CHECK(std::memcmp(bytes.data(), a.raw(), bytes.size()) == 0);
  }
}

TEST_CASE("tifffile decodes the pool's deflate files byte for byte, with every predictor", "[tiff][python][parallel]") {
  if (!have_python_module("tifffile") || !have_python_module("numpy")) {
    WARN("SKIPPED: /usr/bin/python3 with tifffile and numpy not available");
    return;
  }
  TempDir tmp("tiff");
  // tifffile without imagecodecs decodes zlib and the horizontal predictor itself but not the
  // floating-point predictor: undo that one here with numpy (TIFF Technical Note 3: per row,
  // bytewise cumulative sum with stride = samples per pixel, then the byte planes, most
  // significant first, back into samples). The same script reads libtiff's own f32 file too,
  // which checks the script.
  const std::string dump = R"(import sys, zlib, numpy as np, tifffile
def float_pred(tif, page):
    dt = page.dtype.newbyteorder('<'); es = dt.itemsize; spp = page.samplesperpixel
    w, h, rps = page.imagewidth, page.imagelength, page.rowsperstrip
    out = []
    for k, (off, n) in enumerate(zip(page.dataoffsets, page.databytecounts)):
        tif.filehandle.seek(off); raw = zlib.decompress(tif.filehandle.read(n))
        rows = min(rps, h - k * rps)
        a = np.frombuffer(raw, np.uint8).reshape(rows, -1, spp)
        a = np.cumsum(a, axis=1, dtype=np.uint8).reshape(rows, es, w * spp)[:, ::-1, :]
        out.append(np.ascontiguousarray(a.transpose(0, 2, 1)).view(dt).reshape(rows, w * spp))
    return np.concatenate(out)
for name in sys.argv[1:]:
    with tifffile.TiffFile(name) as tif:
        if tif.pages[0].predictor == 3:
            a = np.stack([float_pred(tif, p) for p in tif.pages])
        else:
            a = tif.asarray()
    open(name + '.bin', 'wb').write(np.ascontiguousarray(a).tobytes())
)";
  lumen::test::write_bytes(tmp.path() / "dump.py", std::vector<unsigned char>(dump.begin(), dump.end()));
  lumen::ThreadPool pool(3);
  struct Case {
    const char* name;
    DType dtype;
    Shape shape;
    const char* predictor;
    int tile;
    bool use_pool;
  };
  const std::vector<Case> cases = {
      {"u8", DType::u8, Shape{301, 257}, "horizontal", 0, true},
      {"u16", DType::u16, Shape{5, 300, 400}, "horizontal", 0, true}, // 2 strips per page
      {"u16t", DType::u16, Shape{3, 100, 90}, "horizontal", 32, true},
      {"i16", DType::i16, Shape{200, 210, 3}, "horizontal", 0, true},
      {"u32", DType::u32, Shape{4, 120, 333}, "horizontal", 0, true},
      {"u32a", DType::u32, Shape{90, 70, 2}, "horizontal", 0, true},
      {"u8n", DType::u8, Shape{40, 50, 4}, "none", 0, true},
      {"f32", DType::f32, Shape{3, 300, 250}, "float", 0, true},
      {"f32c", DType::f32, Shape{80, 60, 3}, "float", 0, true},
      {"f64", DType::f64, Shape{70, 90}, "float", 0, true},
      {"f32lib", DType::f32, Shape{3, 300, 250}, "float", 0, false}, // libtiff's encoder
  };
  std::string files;
  for (const auto& c : cases) {
    lumen::tiff::WriteOptions o = options("deflate", c.tile);
    o.predictor = c.predictor;
    o.layout = c.shape.ndim == 3 && c.shape[2] <= 4 ? "color" : "stack";
    const fs::path file = tmp.path() / (std::string(c.name) + ".tif");
    lumen::tiff::write_tiff(file, random_array(c.dtype, c.shape, 9), o, "t", c.use_pool ? &pool : nullptr);
    files += " " + file.string();
  }
  REQUIRE(std::system(("/usr/bin/python3 " + (tmp.path() / "dump.py").string() + files).c_str()) == 0);
  for (const auto& c : cases) {
    INFO(c.name);
    const Array image = random_array(c.dtype, c.shape, 9);
    const auto bytes = lumen::test::read_bytes(tmp.path() / (std::string(c.name) + ".tif.bin"));
    REQUIRE(bytes.size() == image.nbytes());
    CHECK(std::memcmp(bytes.data(), image.raw(), bytes.size()) == 0);
  }
}

TEST_CASE("tiff.write threads: deflate and zstd through the stage's pool", "[tiff][stage][parallel]") {
  TempDir tmp("tiff");
  for (const std::string& compression : {std::string("deflate"), std::string("zstd")}) {
    if (!lumen::tiff::can_encode(compression)) continue;
    lumen::testing::Context ctx(tmp.path(), "save");
    lumen::tiff::TiffWrite w;
    w.compression.assign(lumen::ParamValue{compression});
    w.threads.assign(lumen::ParamValue{std::int64_t{3}});
    w.name.assign(lumen::ParamValue{std::string("{id}_") + compression + ".tif"});
    w.attach(ctx);
    w.validate();
    w.start();
    for (const auto& [id, image] : {std::pair{"stack", random_array(DType::u16, Shape{7, 300, 300}, 4)},
                                    std::pair{"float", random_array(DType::f32, Shape{260, 270}, 5)}}) {
      lumen::Item item(id);
      item.set("image", image);
      lumen::testing::Collect out;
      w.process(item, out);
      REQUIRE(out.items.size() == 1);
      const fs::path file = tmp.path() / (std::string(id) + "_" + compression + ".tif");
      CHECK(same_pixels(read_all(file), image));
      CHECK(tags_of(file).predictor == (std::string(id) == "float" ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL));
    }
  }
}
