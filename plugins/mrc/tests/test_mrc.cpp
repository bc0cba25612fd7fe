// Unit tests for the `mrc` set: round trips for every mode the writer produces; header fields
// as written (MAP, MACHST, NVERSION, statistics, CELLA, ISPG, MZ, labels); big-endian files
// made by swapping a written file; MACHST missing (byte-order heuristic); modes 0 (signed and
// IMOD unsigned) and 12 made by hand; refused modes; every bad-header case with its message;
// extended headers; the real files of ../shared/data/mrc against the values mrcfile prints,
// and corrupted copies of them; the stages (frames_per_item ranges, meta, atomic writes); and
// a cross-check with python3-mrcfile (validate + data).
//
// Run: build/bin/test_mrc   (or ctest -R mrc)
// The stages under test are used in pipelines like:
//   - id: in
//     use: mrc.read
//     with: {path: "maps/*.map", frames_per_item: 8}
#include "lumen/float16.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "mrc_io.hpp"
#include "mrc_stages.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace fs = std::filesystem;
namespace mrc = lumen::mrc;

namespace {

using lumen::test::same_pixels;

using Bytes = std::vector<unsigned char>;
using lumen::test::TempDir;
using TestContext = lumen::testing::Context;
using Collect = lumen::testing::Collect;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <typename T> lumen::Array random_array(const lumen::Shape& shape, unsigned seed) {
  lumen::Array a(lumen::dtype_of_v<T>, shape);
  std::mt19937 rng(seed);
  for (auto& v : a.writable<T>()) {
    if constexpr (std::is_floating_point_v<T>)
      v = static_cast<T>(std::uniform_real_distribution<double>(-1000.0, 1000.0)(rng));
    else
      v = static_cast<T>(rng());
  }
  return a;
}

Bytes encode(const lumen::Array& image, const mrc::WriteSpec& spec = {}) {
  Bytes out;
  mrc::write_mrc(
      [&out](const void* p, std::size_t n) {
        out.insert(out.end(), static_cast<const unsigned char*>(p), static_cast<const unsigned char*>(p) + n);
      },
      image, spec, "test");
  return out;
}

struct Decoded {
  mrc::Header header;
  lumen::Array image;
};
Decoded decode(const Bytes& bytes, const std::string& name = "mem.mrc") {
  const lumen::MemorySource src({bytes.data(), bytes.size()}, name);
  Decoded d;
  d.header = mrc::read_header(src);
  d.image = mrc::read_sections(src, d.header, 0, d.header.nz);
  return d;
}

std::int32_t word(const Bytes& b, std::size_t offset) {
  std::int32_t v;
  std::memcpy(&v, &b[offset], 4);
  return v;
}
float fword(const Bytes& b, std::size_t offset) {
  float v;
  std::memcpy(&v, &b[offset], 4);
  return v;
}
void set_word(Bytes& b, std::size_t offset, std::int32_t v) {
  std::memcpy(&b[offset], &v, 4);
}

// A big-endian copy of a little-endian file written by write_mrc: every numeric header word
// and every sample swapped, MACHST 0x11 0x11.
Bytes to_big_endian(Bytes b, std::size_t sample_bytes) {
  for (std::size_t off = 0; off < 224; off += 4) {
    if (off == 104 || off == 208 || off == 212) continue; // EXTTYP, "MAP ", MACHST are bytes
    std::reverse(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off + 4));
  }
  b[212] = 0x11;
  b[213] = 0x11;
  b[214] = b[215] = 0;
  const auto data_offset = static_cast<std::size_t>(1024);
  for (std::size_t off = data_offset; off + sample_bytes <= b.size(); off += sample_bytes)
    std::reverse(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off + sample_bytes));
  return b;
}

// Expects read_header/read_sections on `bytes` to throw an InputError mentioning every part.
void expect_error(const Bytes& bytes, const std::vector<std::string>& parts, const std::string& name = "bad.mrc") {
  try {
    (void)decode(bytes, name);
    FAIL("no error; expected: " << parts.front());
  } catch (const lumen::InputError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(contains(what, name));
    for (const auto& p : parts) CHECK(contains(what, p));
  }
}

bool have_python_module(const std::string& module) {
  return std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

} // namespace

// ---- conversions and round trips ---------------------------------------------------------------

TEST_CASE("every float16 value converts exactly", "[mrc][io]") {
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const auto h = static_cast<std::uint16_t>(bits);
    const float f = lumen::half_to_float(h);
    const int exp = (h >> 10) & 31, mant = h & 1023;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    if (exp == 31) {
      CHECK((mant ? std::isnan(f) : std::isinf(f)));
      continue;
    }
    const double expect = exp == 0 ? sign * std::ldexp(mant, -24) : sign * std::ldexp(1024 + mant, exp - 25);
    REQUIRE(static_cast<double>(f) == expect);
    CHECK(std::signbit(f) == ((h & 0x8000) != 0));
  }
}

TEST_CASE("MRC round trips are bit exact for i16, u16 and f32 images and stacks", "[mrc][io]") {
  for (const lumen::Shape& shape : {lumen::Shape{7, 5}, lumen::Shape{3, 7, 5}, lumen::Shape{1, 4, 4}}) {
    INFO(shape.str());
    const auto i16 = random_array<std::int16_t>(shape, 1), u16 = random_array<std::uint16_t>(shape, 2),
               f32 = random_array<float>(shape, 3);
    const auto expect_shape = shape.ndim == 3 && shape[0] == 1 ? lumen::Shape{shape[1], shape[2]} : shape;
    for (const auto* a : {&i16, &u16, &f32}) {
      const auto back = decode(encode(*a));
      CHECK(same_pixels(back.image, a->reshape(expect_shape)));
    }
    CHECK(decode(encode(i16)).header.mode == 1);
    CHECK(decode(encode(u16)).header.mode == 6);
    CHECK(decode(encode(f32)).header.mode == 2);
  }
}

TEST_CASE("u8 images are written as mode 6 or as IMOD unsigned bytes", "[mrc][io]") {
  const auto u8 = random_array<std::uint8_t>(lumen::Shape{2, 6, 9}, 4);
  SECTION("default: widened to uint16, mode 6") {
    const auto back = decode(encode(u8));
    CHECK(back.header.mode == 6);
    CHECK(same_pixels(back.image, u8.as(lumen::DType::u16)));
  }
  SECTION("mode0_unsigned: mode 0 with the IMOD stamp, read back as u8") {
    mrc::WriteSpec spec;
    spec.u8_as_mode0 = true;
    const auto bytes = encode(u8, spec);
    CHECK(word(bytes, 12) == 0);
    CHECK(word(bytes, 152) == mrc::kImodStamp);
    CHECK(word(bytes, 156) == 0);
    const auto back = decode(bytes);
    CHECK(back.header.unsigned_bytes);
    CHECK(same_pixels(back.image, u8));
  }
}

TEST_CASE("mode 0 without the IMOD unsigned flag is signed int8 widened to i16", "[mrc][io]") {
  mrc::WriteSpec spec;
  spec.u8_as_mode0 = true;
  lumen::Array u8(lumen::DType::u8, lumen::Shape{2, 3});
  const std::uint8_t values[] = {0, 1, 127, 128, 200, 255};
  std::copy(std::begin(values), std::end(values), u8.writable<std::uint8_t>().begin());
  auto bytes = encode(u8, spec);
  SECTION("no stamp") {
    set_word(bytes, 152, 0);
  }
  SECTION("stamp with the signed flag") {
    set_word(bytes, 156, 1);
  }
  const auto back = decode(bytes);
  REQUIRE(back.image.dtype() == lumen::DType::i16);
  const auto v = back.image.view<std::int16_t>();
  CHECK(std::vector<std::int16_t>(v.begin(), v.end()) == std::vector<std::int16_t>{0, 1, 127, -128, -56, -1});
}

TEST_CASE("mode 12 float16 files decode exactly to f32", "[mrc][io]") {
  auto bytes = encode(lumen::Array(lumen::DType::i16, lumen::Shape{2, 3})); // a mode 1 file of 6 samples
  set_word(bytes, 12, 12);
  const std::uint16_t halves[] = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x3555};
  std::memcpy(&bytes[1024], halves, sizeof halves);
  const auto back = decode(bytes);
  REQUIRE(back.image.dtype() == lumen::DType::f32);
  const auto v = back.image.view<float>();
  CHECK(v.at(0, 0) == 1.0f);
  CHECK(v.at(0, 1) == -2.0f);
  CHECK(v.at(0, 2) == std::ldexp(1.0f, -24));
  CHECK(v.at(1, 0) == 65504.0f);
  CHECK(std::isinf(v.at(1, 1)));
  CHECK(v.at(1, 2) == lumen::half_to_float(0x3555));
  CHECK_FALSE(decode(bytes).header.big_endian);
}

TEST_CASE("f64 images need f64_to_f32, other integer types are refused", "[mrc][io][errors]") {
  const auto f64 = random_array<double>(lumen::Shape{4, 4}, 5);
  try {
    (void)encode(f64);
    FAIL("f64 accepted");
  } catch (const lumen::InputError& e) {
    CHECK(contains(e.what(), "f64_to_f32"));
  }
  mrc::WriteSpec lossy;
  lossy.f64_to_f32 = true;
  const auto back = decode(encode(f64, lossy));
  CHECK(back.header.mode == 2);
  CHECK(same_pixels(back.image, f64.as(lumen::DType::f32)));

  for (const auto t : {lumen::DType::i32, lumen::DType::u32}) {
    try {
      (void)encode(lumen::Array(t, lumen::Shape{4, 4}));
      FAIL("accepted " << lumen::dtype_name(t));
    } catch (const lumen::InputError& e) {
      CHECK(contains(e.what(), std::string(lumen::dtype_name(t))));
    }
  }
  CHECK_THROWS_AS(encode(lumen::Array(lumen::DType::f32, lumen::Shape{2, 2, 2, 2})), lumen::InputError);
  CHECK_THROWS_AS(encode(lumen::Array(lumen::DType::f32, lumen::Shape{8})), lumen::InputError);
  CHECK_THROWS_AS(encode(lumen::Array()), lumen::InputError);
}

TEST_CASE("the written header follows MRC2014", "[mrc][io]") {
  lumen::Array a(lumen::DType::f32, lumen::Shape{3, 2, 4});
  auto v = a.writable<float>();
  for (std::int64_t i = 0; i < a.size(); ++i) v.data()[i] = static_cast<float>(i); // 0..23
  mrc::WriteSpec spec;
  spec.voxel_size = {1.5, 2.0, 2.5};
  spec.origin = {10.0, 20.0, 30.0};
  spec.labels = {"first label", std::string(100, 'x')};

  SECTION("an image stack") {
    spec.ispg = 0;
    const auto b = encode(a, spec);
    REQUIRE(b.size() == 1024 + 24 * 4);
    CHECK(word(b, 0) == 4);
    CHECK(word(b, 4) == 2);
    CHECK(word(b, 8) == 3);
    CHECK(word(b, 12) == 2);
    CHECK(word(b, 28) == 4);
    CHECK(word(b, 32) == 2);
    CHECK(word(b, 36) == 1); // image stacks have MZ = 1
    CHECK(fword(b, 40) == 6.0f);
    CHECK(fword(b, 44) == 4.0f);
    CHECK(fword(b, 48) == 2.5f);
    CHECK(fword(b, 52) == 90.0f);
    CHECK(word(b, 64) == 1);
    CHECK(word(b, 68) == 2);
    CHECK(word(b, 72) == 3);
    CHECK(fword(b, 76) == 0.0f);
    CHECK(fword(b, 80) == 23.0f);
    CHECK(fword(b, 84) == 11.5f);
    CHECK(fword(b, 216) == Approx(std::sqrt((24.0 * 24.0 - 1.0) / 12.0)));
    CHECK(word(b, 88) == 0);
    CHECK(word(b, 92) == 0);
    CHECK(word(b, 108) == 20140);
    CHECK(fword(b, 196) == 10.0f);
    CHECK(fword(b, 204) == 30.0f);
    CHECK(std::memcmp(&b[208], "MAP ", 4) == 0);
    CHECK((b[212] == 0x44 && b[213] == 0x44 && b[214] == 0 && b[215] == 0));
    CHECK(word(b, 220) == 2);
    CHECK(std::string(reinterpret_cast<const char*>(&b[224]), 80) == "first label" + std::string(69, ' '));
    CHECK(std::string(reinterpret_cast<const char*>(&b[304]), 80) == std::string(80, 'x'));
    const auto back = decode(b);
    CHECK(back.header.voxel_size() == std::array<double, 3>{1.5, 2.0, 2.5});
    CHECK(back.header.kind() == "image_stack");
    CHECK(back.header.labels == std::vector<std::string>{"first label", std::string(80, 'x')});
  }
  SECTION("a volume") {
    spec.ispg = 1;
    const auto b = encode(a, spec);
    CHECK(word(b, 88) == 1);
    CHECK(word(b, 36) == 3);
    CHECK(fword(b, 48) == 7.5f);
    const auto back = decode(b);
    CHECK(back.header.kind() == "volume");
    CHECK(back.header.voxel_size()[2] == 2.5);
  }
  SECTION("a single image is ISPG 0 with NZ = MZ = 1") {
    spec.ispg = 1;
    const auto b = encode(a.slice(0, 1).reshape(lumen::Shape{2, 4}), spec);
    CHECK(word(b, 88) == 0);
    CHECK(word(b, 8) == 1);
    CHECK(word(b, 36) == 1);
    CHECK(decode(b).header.kind() == "image");
  }
}

// ---- byte order ----------------------------------------------------------------------------------

TEST_CASE("big-endian files read identically", "[mrc][io]") {
  const auto f32 = random_array<float>(lumen::Shape{3, 5, 7}, 6);
  const auto i16 = random_array<std::int16_t>(lumen::Shape{5, 7}, 7);
  const auto u16 = random_array<std::uint16_t>(lumen::Shape{2, 5, 7}, 8);
  mrc::WriteSpec spec;
  spec.voxel_size = {3.25, 3.25, 4.0};
  spec.ispg = 1;
  for (const auto* a : {&f32, &i16, &u16}) {
    const auto little = encode(*a, spec);
    const auto big = to_big_endian(little, lumen::dtype_size(a->dtype()));
    REQUIRE(big != little);
    const auto l = decode(little), b = decode(big);
    CHECK(b.header.big_endian);
    CHECK(b.header.machst_recognised);
    CHECK(same_pixels(b.image, l.image));
    CHECK(b.header.nx == l.header.nx);
    CHECK(b.header.voxel_size() == l.header.voxel_size());
    CHECK(b.header.dmax == l.header.dmax);
    CHECK(b.header.nversion == 20140);
  }
  SECTION("mode 12 big-endian") {
    auto bytes = encode(lumen::Array(lumen::DType::i16, lumen::Shape{1, 2}));
    set_word(bytes, 12, 12);
    const std::uint16_t halves[] = {0x3c00, 0xc000};
    std::memcpy(&bytes[1024], halves, sizeof halves);
    const auto back = decode(to_big_endian(bytes, 2));
    CHECK(back.image.view<float>().at(0, 1) == -2.0f);
  }
}

TEST_CASE("an unknown MACHST falls back to the byte order under which the header is plausible", "[mrc][io]") {
  const auto f32 = random_array<float>(lumen::Shape{2, 6, 3}, 9);
  auto little = encode(f32);
  auto big = to_big_endian(little, 4);
  for (auto* b : {&little, &big}) std::fill(b->begin() + 212, b->begin() + 216, 0);
  const auto l = decode(little), b = decode(big);
  CHECK_FALSE(l.header.machst_recognised);
  CHECK_FALSE(l.header.big_endian);
  CHECK(b.header.big_endian);
  CHECK(same_pixels(l.image, f32));
  CHECK(same_pixels(b.image, f32));
  lumen::Meta meta;
  mrc::header_to_meta(b.header, meta);
  CHECK(meta.get_string("mrc_byte_order") == "big");
  CHECK(contains(meta.find("mrc_byte_order")->comment, "guessed"));
}

// ---- bad input -----------------------------------------------------------------------------------

TEST_CASE("bad MRC headers give an InputError naming the file and the field", "[mrc][io][errors]") {
  const auto good = encode(random_array<float>(lumen::Shape{2, 4, 4}, 10));
  SECTION("shorter than the header") {
    expect_error(Bytes(good.begin(), good.begin() + 1000), {"fewer than the 1024-byte MRC header", "1000 bytes"});
    expect_error(Bytes{}, {"fewer than the 1024-byte MRC header"});
  }
  SECTION("zero or negative dimensions") {
    auto b = good;
    set_word(b, 0, 0);
    expect_error(b, {"nx = 0", "must be > 0"});
    b = good;
    set_word(b, 4, -3);
    expect_error(b, {"ny = -3"});
    b = good;
    set_word(b, 8, 0);
    expect_error(b, {"nz = 0"});
  }
  SECTION("absurd dimensions") {
    auto b = good;
    set_word(b, 8, 2000000000);
    expect_error(b, {"nz = 2000000000", "absurd"});
  }
  SECTION("dimensions whose size overflows 64 bits") {
    auto b = good;
    for (const std::size_t off : {0u, 4u, 8u}) set_word(b, off, 1 << 24);
    expect_error(b, {"truncated or corrupt", "16777216x16777216x16777216", "more than 2^64 bytes"});
  }
  SECTION("data larger than the file") {
    auto b = good;
    set_word(b, 0, 5);
    expect_error(b, {"truncated or corrupt", "5x4x2", "1184 bytes in all", "has only 1152 bytes"});
    expect_error(Bytes(good.begin(), good.end() - 1), {"truncated or corrupt", "has only 1151 bytes"});
  }
  SECTION("a negative or oversized extended header") {
    auto b = good;
    set_word(b, 92, -4);
    expect_error(b, {"nsymbt = -4", ">= 0"});
    set_word(b, 92, 1 << 30);
    expect_error(b, {"extended header", "nsymbt = 1073741824", "has only 1152 bytes"});
    set_word(b, 92, 100);
    expect_error(b, {"truncated or corrupt", "after 1124 header bytes"});
  }
  SECTION("unsupported and unknown modes") {
    auto b = good;
    for (const int mode : {3, 4, 101}) {
      set_word(b, 12, mode);
      expect_error(b, {"MRC mode " + std::to_string(mode), "is not supported", "modes 0 (int8)"});
    }
    set_word(b, 12, 4);
    expect_error(b, {"complex float32"});
    set_word(b, 12, 77);
    expect_error(b, {"mode 77 is not an MRC2014 mode"});
  }
  SECTION("garbage with an unknown MACHST says so") {
    auto b = good;
    std::fill(b.begin() + 212, b.begin() + 216, 0x77);
    set_word(b, 12, 9);
    expect_error(b, {"mode 9", "MACHST 0x77 0x77 0x77 0x77 is not a known byte order"});
  }
  SECTION("section ranges outside the file") {
    const lumen::MemorySource src({good.data(), good.size()}, "r.mrc");
    const auto h = mrc::read_header(src);
    CHECK_THROWS_AS(mrc::read_sections(src, h, 1, 3), lumen::InputError);
    CHECK_THROWS_AS(mrc::read_sections(src, h, 1, 1), lumen::InputError);
    CHECK_THROWS_AS(mrc::read_sections(src, h, -1, 1), lumen::InputError);
  }
  SECTION("files that cannot be opened") {
    TempDir tmp("mrc");
    CHECK_THROWS_WITH(lumen::FileSource(tmp.path() / "absent.mrc"), Catch::Contains("absent.mrc: cannot open"));
    CHECK_THROWS_WITH(lumen::FileSource(tmp.path()), Catch::Contains("not a regular file"));
  }
}

TEST_CASE("extended headers are skipped by NSYMBT and recorded", "[mrc][io]") {
  const auto f32 = random_array<float>(lumen::Shape{2, 3, 4}, 11);
  auto b = encode(f32);
  Bytes ext(3000, 0xAB);
  b.insert(b.begin() + 1024, ext.begin(), ext.end());
  set_word(b, 92, 3000);
  std::memcpy(&b[104], "FEI1", 4);
  const auto back = decode(b);
  CHECK(back.header.nsymbt == 3000);
  CHECK(back.header.exttyp == "FEI1");
  CHECK(back.header.data_offset == 4024);
  CHECK(same_pixels(back.image, f32));
}

TEST_CASE("sections can be read by range", "[mrc][io]") {
  const auto f32 = random_array<float>(lumen::Shape{5, 3, 4}, 12);
  const auto bytes = encode(f32);
  const lumen::MemorySource src({bytes.data(), bytes.size()}, "r.mrc");
  const auto h = mrc::read_header(src);
  CHECK(same_pixels(mrc::read_sections(src, h, 1, 3), f32.slice(1, 3).contiguous_copy()));
  CHECK(same_pixels(mrc::read_sections(src, h, 4, 5), f32.slice(4, 5).contiguous_copy().reshape(lumen::Shape{3, 4})));
}

// ---- real files ----------------------------------------------------------------------------------

TEST_CASE("EMD-3197.map reads with the values mrcfile prints", "[mrc][real]") {
  LUMEN_SHARED_FILE(file, "mrc/EMD-3197.map");
  const lumen::FileSource src(file);
  const auto h = mrc::read_header(src);
  CHECK(h.nx == 20);
  CHECK(h.ny == 20);
  CHECK(h.nz == 20);
  CHECK(h.mode == 2);
  CHECK(h.ispg == 1);
  CHECK(h.kind() == "volume");
  CHECK(h.voxel_size()[0] == Approx(11.4));
  CHECK(h.voxel_size()[2] == Approx(11.4));
  CHECK(h.machst_recognised);
  CHECK_FALSE(h.big_endian);
  CHECK(h.nxstart == -2);
  CHECK(h.labels.size() == 1);
  CHECK(h.labels[0] == "::::EMDATABANK.org::::EMD-3197::::");
  const auto image = mrc::read_sections(src, h, 0, h.nz);
  REQUIRE(image.shape() == lumen::Shape{20, 20, 20});
  const auto v = image.view<float>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  CHECK(*lo == Approx(-4.1337457f));
  CHECK(*hi == Approx(5.576737f));
  CHECK(h.dmin == Approx(-4.1337457f));
  CHECK(h.dmax == Approx(5.576737f));
  CHECK(h.dmean == Approx(0.783612f));
  CHECK(h.rms == Approx(2.399953f));
  lumen::Meta meta;
  mrc::header_to_meta(h, meta);
  CHECK(meta.get_string("domain") == "microscopy");
  CHECK_FALSE(meta.has("units")); // a float density map
  CHECK(meta.get_number("voxel_size_y") == Approx(11.4));
  CHECK(meta.find("voxel_size_y")->unit == "Å");
  CHECK(meta.get_string("mrc_kind") == "volume");
  CHECK(meta.get_string("mrc_label_0") == "::::EMDATABANK.org::::EMD-3197::::");
}

TEST_CASE("the DE HAADF file skips its 909312-byte FEI2 extended header", "[mrc][real]") {
  LUMEN_SHARED_FILE(file, "mrc/DE_HAADFscan_FEI2exthdr.mrc");
  const lumen::FileSource src(file);
  const auto h = mrc::read_header(src);
  CHECK(h.mode == 6);
  CHECK(h.nsymbt == 909312);
  CHECK(h.exttyp == "FEI2");
  CHECK(h.nversion == 20140);
  CHECK(h.voxel_size()[0] == Approx(56.791313));
  CHECK(h.voxel_size()[1] == Approx(56.791313));
  const auto image = mrc::read_sections(src, h, 0, 1);
  REQUIRE(image.shape() == lumen::Shape{16, 16});
  REQUIRE(image.dtype() == lumen::DType::u16);
  const auto v = image.view<std::uint16_t>();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  CHECK(*lo == 3923);
  CHECK(*hi == 9399);
  double sum = 0;
  for (const auto x : v) sum += x;
  CHECK(sum / 256.0 == Approx(6066.19921875));
  lumen::Meta meta;
  mrc::header_to_meta(h, meta);
  CHECK(meta.get_string("units") == "counts");
  CHECK(meta.get_int("mrc_nsymbt") == 909312);
  CHECK(meta.get_string("mrc_exttyp") == "FEI2");
}

TEST_CASE("corrupted copies of the real files fail cleanly or decode", "[mrc][real][errors]") {
  for (const char* name : {"mrc/EMD-3197.map", "mrc/DE_HAADFscan_FEI2exthdr.mrc"}) {
    LUMEN_SHARED_FILE(file, name);
    TempDir tmp("mrc-corrupt");
    for (const auto& bad : lumen::test::corrupt_variants(file, tmp.path())) {
      INFO(bad.what);
      try {
        const lumen::FileSource src(bad.path);
        const auto h = mrc::read_header(src);
        (void)mrc::read_sections(src, h, 0, h.nz);
        CHECK_FALSE(bad.truncated);
      } catch (const lumen::InputError& e) {
        CHECK(contains(e.what(), bad.path.string()));
      }
    }
  }
}

// ---- stages ----------------------------------------------------------------------------------------

TEST_CASE("a range of a volume carries its own z origin", "[mrc][stage][real]") {
  LUMEN_SHARED_FILE(map, "mrc/EMD-3197.map");
  mrc::MrcRead reader;
  reader.path.assign(lumen::ParamValue{map.string()});
  reader.frames_per_item.assign(lumen::ParamValue{std::int64_t{7}});
  TempDir tmp("mrc-origin");
  const auto items = lumen::testing::read_all(reader, TestContext(tmp.path()));
  REQUIRE(items.size() == 3);
  const double z0 = *items[0].meta.get_number("origin_z"), voxel = *items[0].meta.get_number("voxel_size_z");
  CHECK(voxel == Approx(11.4).epsilon(1e-4));
  CHECK(*items[1].meta.get_number("origin_z") == Approx(z0 + 7 * voxel));
  CHECK(*items[2].meta.get_number("origin_z") == Approx(z0 + 14 * voxel));
}

TEST_CASE("mrc.read plans one unit per range of frames_per_item sections", "[mrc][stage]") {
  TempDir tmp("mrc-stage");
  const auto stack = random_array<std::int16_t>(lumen::Shape{7, 3, 5}, 13);
  lumen::test::write_bytes(tmp.path() / "a_stack.mrc", encode(stack));
  lumen::test::write_bytes(tmp.path() / "b_image.mrc", encode(random_array<float>(lumen::Shape{3, 5}, 14)));
  lumen::test::write_bytes(tmp.path() / "c_broken.mrc", Bytes(100, 0));
  TestContext ctx(tmp.path() / "out");

  mrc::MrcRead reader;
  reader.path.assign(lumen::ParamValue{tmp.path().string()});
  reader.frames_per_item.assign(lumen::ParamValue{std::int64_t{3}});
  reader.validate();
  reader.attach(ctx);
  reader.start();
  const auto units = reader.plan();
  REQUIRE(units.size() == 5); // stack: [0,3) [3,6) [6,7); image: [0,1); broken: whole file
  CHECK(units[0].begin == 0);
  CHECK(units[0].end == 3);
  CHECK(units[2].begin == 6);
  CHECK(units[2].end == 7);
  CHECK(units[0].identity != units[1].identity);
  CHECK(units[4].end == 0);

  Collect got;
  for (const auto& u : units) {
    if (u.source_file.find("broken") != std::string::npos) {
      CHECK_THROWS_WITH(reader.read(u, got), Catch::Contains("c_broken.mrc: not an MRC file"));
      continue;
    }
    reader.read(u, got);
  }
  REQUIRE(got.items.size() == 4);
  CHECK(got.items[0].id() == "a_stack/0000");
  CHECK(got.items[1].id() == "a_stack/0003");
  CHECK(got.items[1].meta.get_int("index") == 3);
  CHECK(got.items[1].meta.get_int("mrc_section_begin") == 3);
  CHECK(got.items[1].meta.get_int("mrc_section_end") == 6);
  CHECK(got.items[3].meta.get_int("file_index") == 1);
  CHECK(same_pixels(got.items[1].array("image"), stack.slice(3, 6).contiguous_copy()));
  CHECK(got.items[2].array("image").shape() == lumen::Shape{3, 5});
  CHECK(got.items[0].meta.get_string("units") == "counts");
  CHECK(got.items[0].meta.get_string("domain") == "microscopy");
  CHECK(got.items[3].id() == "b_image/0000");

  SECTION("frames_per_item 0 reads whole files") {
    mrc::MrcRead whole;
    whole.path.assign(lumen::ParamValue{(tmp.path() / "a_stack.mrc").string()});
    whole.attach(ctx);
    const auto one = whole.plan();
    REQUIRE(one.size() == 1);
    Collect all;
    whole.read(one[0], all);
    CHECK(all.items.at(0).id() == "a_stack");
    CHECK(same_pixels(all.items[0].array("image"), stack));
  }
}

TEST_CASE("mrc.write writes atomically with the item's voxel size and kind", "[mrc][stage]") {
  TempDir tmp("mrc-write");
  TestContext ctx(tmp.path() / "outputs");
  fs::create_directories(ctx.outputs_dir());
  mrc::MrcWrite writer;
  writer.name.assign(lumen::ParamValue{std::string("{stem}_{index:02d}.mrc")});
  writer.validate();
  writer.attach(ctx);
  writer.start();

  lumen::Item item("vol/0004");
  const auto vol = random_array<float>(lumen::Shape{4, 3, 2}, 15);
  item.set("image", vol);
  item.meta.set("index", lumen::MetaValue{std::int64_t{4}});
  item.meta.set("voxel_size_x", lumen::MetaValue{2.5});
  item.meta.set("voxel_size_y", lumen::MetaValue{2.5});
  item.meta.set("voxel_size_z", lumen::MetaValue{3.0});
  item.meta.set("origin_z", lumen::MetaValue{-7.0});
  item.meta.set("mrc_kind", "volume");
  item.meta.set("mrc_label_0", "an earlier label");
  Collect out;
  writer.process(item, out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].meta.get_string("mrc_path") == "vol_04.mrc");
  REQUIRE(ctx.recorded.size() == 1);
  for (const auto& e : fs::directory_iterator(ctx.outputs_dir()))
    CHECK_FALSE(contains(e.path().string(), ".lumen-tmp"));

  const auto back = decode(lumen::test::read_bytes(ctx.outputs_dir() / "vol_04.mrc"));
  CHECK(same_pixels(back.image, vol));
  CHECK(back.header.ispg == 1);
  CHECK(back.header.voxel_size() == std::array<double, 3>{2.5, 2.5, 3.0});
  CHECK(back.header.origin[2] == -7.0f);
  REQUIRE(back.header.labels.size() == 2);
  CHECK(back.header.labels[0] == "an earlier label");
  CHECK(contains(back.header.labels[1], std::string("Lumen ") + lumen::version()));

  SECTION("kind image_stack overrides the meta") {
    writer.kind.assign(lumen::ParamValue{std::string("image_stack")});
    writer.name.assign(lumen::ParamValue{std::string("stack.mrc")});
    lumen::Item again = out.items[0];
    writer.process(again, out);
    CHECK(decode(lumen::test::read_bytes(ctx.outputs_dir() / "stack.mrc")).header.ispg == 0);
  }
  SECTION("an unwritable dtype fails before a file is created") {
    writer.name.assign(lumen::ParamValue{std::string("bad.mrc")});
    lumen::Item bad("bad");
    bad.set("image", lumen::Array(lumen::DType::f64, lumen::Shape{2, 2}));
    CHECK_THROWS_WITH(writer.process(bad, out), Catch::Contains("item 'bad'") && Catch::Contains("f64_to_f32"));
    CHECK_FALSE(fs::exists(ctx.outputs_dir() / "bad.mrc"));
    writer.f64_to_f32.assign(lumen::ParamValue{true});
    writer.process(bad, out);
    CHECK(fs::exists(ctx.outputs_dir() / "bad.mrc"));
  }
}

TEST_CASE("files written by mrc.write pass mrcfile.validate and hold the same data", "[mrc][python]") {
  if (!have_python_module("mrcfile") || !have_python_module("numpy")) {
    WARN("SKIPPED: /usr/bin/python3 with mrcfile and numpy is not available");
    return;
  }
  TempDir tmp("mrc-py");
  struct Case {
    std::string name;
    lumen::Array image;
    int ispg;
  };
  const std::vector<Case> cases = {
      {"f32_volume", random_array<float>(lumen::Shape{4, 6, 5}, 16), 1},
      {"i16_stack", random_array<std::int16_t>(lumen::Shape{3, 6, 5}, 17), 0},
      {"u16_image", random_array<std::uint16_t>(lumen::Shape{6, 5}, 18), 0},
      {"u8_image", random_array<std::uint8_t>(lumen::Shape{6, 5}, 19), 0},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    mrc::WriteSpec spec;
    spec.ispg = c.ispg;
    spec.voxel_size = {1.25, 1.25, 2.5};
    spec.labels = {"Lumen test"};
    const fs::path file = tmp.path() / (c.name + ".mrc");
    lumen::test::write_bytes(file, encode(c.image, spec));
    // Raw little-endian copy of the expected data, as the file's dtype.
    const lumen::Array expect = c.image.dtype() == lumen::DType::u8 ? c.image.as(lumen::DType::u16) : c.image;
    const fs::path raw = tmp.path() / (c.name + ".raw");
    lumen::test::write_bytes(raw, Bytes(static_cast<const unsigned char*>(expect.raw()),
                                        static_cast<const unsigned char*>(expect.raw()) + expect.nbytes()));
    const std::string dtype = expect.dtype() == lumen::DType::f32   ? "<f4"
                              : expect.dtype() == lumen::DType::i16 ? "<i2"
                                                                    : "<u2";
    const std::string script = "import sys, io, contextlib, numpy as np, mrcfile\n"
                               "out = io.StringIO()\n"
                               "with contextlib.redirect_stdout(out):\n"
                               "    ok = mrcfile.validate(sys.argv[1])\n"
                               "if not ok: print(out.getvalue()); sys.exit(3)\n"
                               "with mrcfile.open(sys.argv[1]) as m:\n"
                               "    want = np.fromfile(sys.argv[2], dtype=sys.argv[3]).reshape(m.data.shape)\n"
                               "    if not np.array_equal(m.data, want): sys.exit(4)\n"
                               "    if abs(float(m.voxel_size.x) - 1.25) > 1e-6: sys.exit(5)\n"
                               "    if int(m.header.ispg) != int(sys.argv[4]): sys.exit(6)\n";
    const fs::path py = tmp.path() / "check.py";
    lumen::test::write_bytes(py, Bytes(script.begin(), script.end()));
    const std::string cmd = "/usr/bin/python3 " + py.string() + " " + file.string() + " " + raw.string() + " '" +
                            dtype + "' " + std::to_string(c.image.ndim() == 3 ? c.ispg : 0);
    CHECK(std::system(cmd.c_str()) == 0);
  }
}

TEST_CASE("the mrc plugin descriptor lists mrc.read and mrc.write", "[mrc][plugin]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 2);
  CHECK(table->stages[0].name == "mrc.read");
  CHECK(table->stages[1].name == "mrc.write");
  for (const auto& f : table->stages) {
    CHECK(f.concurrent);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
}
