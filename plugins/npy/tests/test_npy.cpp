// Unit tests for the `npy` set: round trips for every Array dtype and 1-4 dims; the written
// header byte for byte; hand-made headers in versions 1.0/2.0/3.0 with every literal form the
// strict parser accepts; every dtype conversion (byte order, i1, f2, b1, i8/u8 range checks,
// Fortran order, 0-d); every bad-input case with its message; corrupted copies; the stages
// (array parameter, meta, atomic writes); and cross-checks with numpy in both directions.
//
// Run: build/bin/test_npy   (or ctest -R npy)
// The stages under test are used in pipelines like:
//   - id: in
//     use: npy.read
//     with: {path: "arrays/*.npy"}
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "npy_io.hpp"
#include "npy_stages.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace fs = std::filesystem;
namespace npy = lumen::npy;

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
      v = static_cast<T>(std::uniform_real_distribution<double>(-1e6, 1e6)(rng));
    else
      v = static_cast<T>(rng());
  }
  return a;
}

Bytes encode(const lumen::Array& a) {
  Bytes out;
  npy::write_npy(
      [&out](const void* p, std::size_t n) {
        out.insert(out.end(), static_cast<const unsigned char*>(p), static_cast<const unsigned char*>(p) + n);
      },
      a, "test");
  return out;
}

lumen::Array decode(const Bytes& b, const std::string& name = "mem.npy") {
  const lumen::MemorySource src({b.data(), b.size()}, name);
  return npy::read_data(src, npy::read_header(src));
}

// A .npy file from a header dict text and raw data bytes (version 1.0 unless told).
Bytes hand_npy(const std::string& dict, const Bytes& data, int major = 1) {
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  const auto n = dict.size();
  out.push_back(static_cast<unsigned char>(n & 0xff));
  out.push_back(static_cast<unsigned char>((n >> 8) & 0xff));
  if (major >= 2) {
    out.push_back(static_cast<unsigned char>((n >> 16) & 0xff));
    out.push_back(static_cast<unsigned char>((n >> 24) & 0xff));
  }
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <typename T> Bytes raw_bytes(std::initializer_list<T> values, bool big = false) {
  Bytes out;
  for (T v : values) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    if (big) std::reverse(std::begin(b), std::end(b));
    out.insert(out.end(), std::begin(b), std::end(b));
  }
  return out;
}

template <typename T> std::vector<T> values(const lumen::Array& a) {
  const auto v = a.view<T>();
  return {v.begin(), v.end()};
}

void expect_error(const Bytes& bytes, const std::vector<std::string>& parts, const std::string& name = "bad.npy") {
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

bool have_numpy() {
  return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

} // namespace

// ---- round trips and the written header -------------------------------------------------------

TEST_CASE("npy round trips are bit exact for every dtype and 1 to 4 dims", "[npy][io]") {
  for (const lumen::Shape& shape :
       {lumen::Shape{7}, lumen::Shape{3, 5}, lumen::Shape{2, 3, 4}, lumen::Shape{2, 1, 3, 2}, lumen::Shape{1, 1}}) {
    INFO(shape.str());
    const lumen::Array arrays[] = {random_array<std::uint8_t>(shape, 1), random_array<std::uint16_t>(shape, 2),
                                   random_array<std::int16_t>(shape, 3), random_array<std::uint32_t>(shape, 4),
                                   random_array<std::int32_t>(shape, 5), random_array<float>(shape, 6),
                                   random_array<double>(shape, 7)};
    for (const auto& a : arrays) {
      const auto bytes = encode(a);
      const lumen::MemorySource src({bytes.data(), bytes.size()}, "rt.npy");
      const auto h = npy::read_header(src);
      CHECK(h.data_offset % 64 == 0);
      CHECK(h.descr == npy::descr_of(a.dtype()));
      CHECK(same_pixels(npy::read_data(src, h), a));
    }
  }
}

TEST_CASE("the written header is what numpy writes", "[npy][io]") {
  const auto h = npy::make_header(lumen::Array(lumen::DType::f32, lumen::Shape{2, 3}));
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  REQUIRE(h.size() == 128);
  CHECK(h.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(static_cast<unsigned char>(h[8]) == 118);
  CHECK(h[9] == 0);
  CHECK(h.substr(10, dict.size()) == dict);
  CHECK(h.substr(10 + dict.size(), 117 - dict.size()) == std::string(117 - dict.size(), ' '));
  CHECK(h.back() == '\n');
  CHECK(contains(npy::make_header(lumen::Array(lumen::DType::u8, lumen::Shape{5})), "'descr': '|u1'"));
  CHECK(contains(npy::make_header(lumen::Array(lumen::DType::u8, lumen::Shape{5})), "'shape': (5,)"));
  CHECK(npy::make_header(lumen::Array(lumen::DType::u8, lumen::Shape{5})).size() % 64 == 0);
  CHECK_THROWS_AS(encode(lumen::Array()), lumen::InputError);
  CHECK_THROWS_AS(encode(lumen::Array(lumen::DType::u8, lumen::Shape{0, 3})), lumen::InputError);
}

TEST_CASE("strided views are written in C order", "[npy][io]") {
  const auto a = random_array<std::int32_t>(lumen::Shape{6, 8}, 8);
  const auto crop = a.crop(1, 2, 3, 4);
  CHECK(same_pixels(decode(encode(crop)), crop.contiguous_copy()));
}

// ---- the header parser ---------------------------------------------------------------------------

TEST_CASE("headers in every accepted form parse", "[npy][io]") {
  const Bytes data = raw_bytes<std::uint16_t>({1, 2, 3, 4, 5, 6});
  SECTION("version 1.0, key order and quotes vary, no trailing comma") {
    const auto a = decode(hand_npy("{\"shape\": (2,3), 'fortran_order':False,'descr':\"<u2\"}\n", data));
    CHECK(a.shape() == lumen::Shape{2, 3});
    CHECK(values<std::uint16_t>(a) == std::vector<std::uint16_t>{1, 2, 3, 4, 5, 6});
  }
  SECTION("version 2.0") {
    CHECK(decode(hand_npy("{'descr': '<u2', 'fortran_order': False, 'shape': (6,), }    \n", data, 2)).shape() ==
          lumen::Shape{6});
  }
  SECTION("version 3.0") {
    CHECK(decode(hand_npy("{'descr': '<u2', 'fortran_order': False, 'shape': (3, 2), }\n", data, 3)).shape() ==
          lumen::Shape{3, 2});
  }
  SECTION("Python 2 long literals") {
    CHECK(decode(hand_npy("{'descr': '<u2', 'fortran_order': False, 'shape': (2L, 3L), }\n", data)).shape() ==
          lumen::Shape{2, 3});
  }
  SECTION("whitespace and tabs") {
    CHECK(
        decode(hand_npy("  {\t'descr' : '<u2' ,\n 'fortran_order' : False , 'shape' : ( 6 , ) }  \n", data)).shape() ==
        lumen::Shape{6});
  }
}

TEST_CASE("dtypes convert as documented", "[npy][io]") {
  const auto dict = [](const std::string& descr, const std::string& shape, bool fortran = false) {
    return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape +
           ", }\n";
  };
  SECTION("big-endian samples are swapped") {
    const auto a = decode(hand_npy(dict(">i2", "(3,)"), raw_bytes<std::int16_t>({-2, 300, 7}, true)));
    CHECK(a.dtype() == lumen::DType::i16);
    CHECK(values<std::int16_t>(a) == std::vector<std::int16_t>{-2, 300, 7});
    const auto d = decode(hand_npy(dict(">f8", "(2,)"), raw_bytes<double>({1.5, -1e300}, true)));
    CHECK(values<double>(d) == std::vector<double>{1.5, -1e300});
    const auto u = decode(hand_npy(dict(">u4", "(1,)"), raw_bytes<std::uint32_t>({0xDEADBEEF}, true)));
    CHECK(values<std::uint32_t>(u) == std::vector<std::uint32_t>{0xDEADBEEF});
  }
  SECTION("i1 widens to i16, b1 becomes 0/1 u8, u1 stays u8") {
    const auto i = decode(hand_npy(dict("|i1", "(3,)"), {0x80, 0xff, 0x7f}));
    CHECK(values<std::int16_t>(i) == std::vector<std::int16_t>{-128, -1, 127});
    const auto b = decode(hand_npy(dict("|b1", "(3,)"), {0, 1, 2}));
    CHECK(b.dtype() == lumen::DType::u8);
    CHECK(values<std::uint8_t>(b) == std::vector<std::uint8_t>{0, 1, 1});
    CHECK(values<std::uint8_t>(decode(hand_npy(dict("<u1", "(2,)"), {9, 200}))) == std::vector<std::uint8_t>{9, 200});
  }
  SECTION("f2 widens exactly to f32") {
    const auto a = decode(hand_npy(dict("<f2", "(3,)"), raw_bytes<std::uint16_t>({0x3c00, 0xc000, 0x0001})));
    CHECK(values<float>(a) == std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24)});
    const auto be = decode(hand_npy(dict(">f2", "(1,)"), raw_bytes<std::uint16_t>({0x3c00}, true)));
    CHECK(values<float>(be) == std::vector<float>{1.0f});
  }
  SECTION("i8 and u8 narrow when every value fits, else fail naming the value") {
    const auto a = decode(hand_npy(dict("<i8", "(3,)"), raw_bytes<std::int64_t>({-5, 2147483647, -2147483648LL})));
    CHECK(a.dtype() == lumen::DType::i32);
    CHECK(values<std::int32_t>(a) == std::vector<std::int32_t>{-5, 2147483647, -2147483647 - 1});
    const auto u = decode(hand_npy(dict(">u8", "(2,)"), raw_bytes<std::uint64_t>({7, 4294967295ULL}, true)));
    CHECK(values<std::uint32_t>(u) == std::vector<std::uint32_t>{7, 4294967295U});
    expect_error(hand_npy(dict("<i8", "(3,)"), raw_bytes<std::int64_t>({1, 2, 1LL << 40})),
                 {"int64 value 1099511627776 at flat index 2 does not fit in int32"});
    expect_error(hand_npy(dict("<u8", "(1,)"), raw_bytes<std::uint64_t>({1ULL << 32})),
                 {"uint64 value 4294967296", "does not fit in uint32"});
  }
  SECTION("Fortran order is transposed into C order") {
    // The logical array a[i][j] = 10 i + j of shape (2, 3), stored column by column.
    const auto a = decode(hand_npy(dict("<i4", "(2, 3)", true), raw_bytes<std::int32_t>({0, 10, 1, 11, 2, 12})));
    CHECK(a.shape() == lumen::Shape{2, 3});
    CHECK(values<std::int32_t>(a) == std::vector<std::int32_t>{0, 1, 2, 10, 11, 12});
    // 4-D: a[i][j][k][l] = 1000 i + 100 j + 10 k + l, shape (2, 3, 2, 2), first index fastest.
    Bytes stored;
    std::vector<std::int32_t> expect;
    for (int l = 0; l < 2; ++l)
      for (int k = 0; k < 2; ++k)
        for (int j = 0; j < 3; ++j)
          for (int i = 0; i < 2; ++i) {
            const auto more = raw_bytes<std::int32_t>({1000 * i + 100 * j + 10 * k + l});
            stored.insert(stored.end(), more.begin(), more.end());
          }
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = 0; k < 2; ++k)
          for (int l = 0; l < 2; ++l) expect.push_back(1000 * i + 100 * j + 10 * k + l);
    const auto b = decode(hand_npy(dict("<i4", "(2, 3, 2, 2)", true), stored));
    CHECK(b.shape() == lumen::Shape{2, 3, 2, 2});
    CHECK(values<std::int32_t>(b) == expect);
    CHECK(values<std::int16_t>(decode(hand_npy(dict("<i2", "(3,)", true), raw_bytes<std::int16_t>({4, 5, 6})))) ==
          std::vector<std::int16_t>{4, 5, 6});
  }
  SECTION("a 0-d array becomes shape (1)") {
    const auto a = decode(hand_npy(dict("<f8", "()"), raw_bytes<double>({3.25})));
    CHECK(a.shape() == lumen::Shape{1});
    CHECK(values<double>(a) == std::vector<double>{3.25});
  }
}

TEST_CASE("bad .npy files give an InputError naming the file and the problem", "[npy][io][errors]") {
  const auto good = encode(random_array<float>(lumen::Shape{2, 3}, 9));
  const Bytes six = raw_bytes<float>({1, 2, 3, 4, 5, 6});
  const auto dict = [](const std::string& descr, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n";
  };
  SECTION("wrong magic, empty file, truncated prelude") {
    expect_error(Bytes{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}, {"not a .npy file", "magic"});
    expect_error(Bytes{}, {"not a .npy file"});
    expect_error(Bytes(good.begin(), good.begin() + 8), {"truncated .npy file", "format version"});
    const auto v2 = hand_npy(dict("<f4", "(6,)"), six, 2);
    expect_error(Bytes(v2.begin(), v2.begin() + 11), {"truncated .npy file", "header length"});
  }
  SECTION("unknown versions") {
    auto b = good;
    b[6] = 4;
    expect_error(b, {"unsupported .npy format version 4.0"});
    b[6] = 1;
    b[7] = 1;
    expect_error(b, {"version 1.1"});
  }
  SECTION("a header longer than the file, or absurd") {
    expect_error(Bytes(good.begin(), good.begin() + 100), {"truncated .npy file", "header should end at byte 128"});
    auto b = hand_npy(dict("<f4", "(6,)"), six, 2);
    b[10] = 0x7f; // header length 2^30 + ...
    expect_error(b, {"is absurd"});
  }
  SECTION("truncated or padded data") {
    expect_error(Bytes(good.begin(), good.end() - 1), {"needs 24 data bytes", "has 23", "(truncated)"});
    auto b = good;
    b.push_back(0);
    expect_error(b, {"has 25", "trailing bytes"});
  }
  SECTION("dict errors") {
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False}\n", six), {"missing key 'shape'"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}\n", six),
                 {"unknown key 'x'"});
    expect_error(hand_npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}\n", six),
                 {"'descr' appears twice"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}\n", six), {"True or False"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}\n", six), {"not a tuple"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': [6]}\n", six), {"must be a tuple"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}\n", six), {"non-negative"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x\n", six), {"after the closing"});
    expect_error(hand_npy("['descr', '<f4']\n", six), {"must be a dict"});
    expect_error(hand_npy("{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}\n", six), {"invalid .npy header"});
    expect_error(hand_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)\n", six), {"invalid .npy header"});
    expect_error(hand_npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}\n", six),
                 {"structured dtypes"});
  }
  SECTION("unsupported dtypes") {
    for (const std::string descr : {"<c8", "|O", "<U3", "|S4", "<M8", "<f16", "|V4", "<g"}) {
      INFO(descr);
      expect_error(hand_npy(dict(descr, "(6,)"), six), {"dtype '" + descr + "' is not supported"});
    }
    expect_error(hand_npy(dict("|u2", "(6,)"), six), {"'|' (no byte order) is only valid for one-byte types"});
  }
  SECTION("shapes") {
    expect_error(hand_npy(dict("<f4", "(1, 1, 2, 3, 1)"), six), {"5 dimensions", "at most 4"});
    expect_error(hand_npy(dict("<f4", "(0, 6)"), {}), {"is empty"});
    expect_error(hand_npy(dict("<f4", "(1099511627776, 1099511627776)"), six), {"overflows 64 bits"});
    expect_error(hand_npy(dict("<f4", "(99999999999999999999,)"), six), {"absurdly large"});
    expect_error(hand_npy(dict("<f4", "(100000, 100000)"), six), {"needs 40000000000 data bytes"});
  }
}

TEST_CASE("corrupted copies of a written file fail cleanly or decode", "[npy][io][errors]") {
  TempDir tmp("npy-corrupt");
  const fs::path file = tmp.path() / "good.npy";
  lumen::test::write_bytes(file, encode(random_array<std::int16_t>(lumen::Shape{4, 5, 6}, 10)));
  for (const auto& bad : lumen::test::corrupt_variants(file, tmp.path(), 128, 200)) {
    INFO(bad.what);
    try {
      const lumen::FileSource src(bad.path);
      (void)npy::read_data(src, npy::read_header(src));
      CHECK_FALSE(bad.truncated);
    } catch (const lumen::InputError& e) {
      CHECK(contains(e.what(), bad.path.string()));
    }
  }
}

// ---- stages ----------------------------------------------------------------------------------------

TEST_CASE("npy.write writes the chosen array and npy.read reads it back", "[npy][stage]") {
  TempDir tmp("npy-stage");
  TestContext ctx(tmp.path() / "outputs");
  fs::create_directories(ctx.outputs_dir());

  npy::NpyWrite writer;
  writer.array.assign(lumen::ParamValue{std::string("mask")});
  writer.name.assign(lumen::ParamValue{std::string("{stem}_mask.npy")});
  writer.validate();
  writer.attach(ctx);
  writer.start();

  lumen::Item item("frames/0002");
  const auto mask = random_array<std::uint8_t>(lumen::Shape{5, 4}, 11);
  item.set("image", random_array<float>(lumen::Shape{5, 4}, 12));
  item.set("mask", mask);
  Collect out;
  writer.process(item, out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].meta.get_string("npy_path") == "frames_mask.npy");
  REQUIRE(ctx.recorded.size() == 1);
  for (const auto& e : fs::directory_iterator(ctx.outputs_dir()))
    CHECK_FALSE(contains(e.path().string(), ".lumen-tmp"));

  lumen::Item no_mask("plain");
  no_mask.set("image", mask);
  CHECK_THROWS_WITH(writer.process(no_mask, out), Catch::Contains("plain") && Catch::Contains("mask"));

  npy::NpyRead reader;
  reader.path.assign(lumen::ParamValue{(ctx.outputs_dir() / "*.npy").string()});
  reader.validate();
  reader.attach(ctx);
  reader.start();
  const auto units = reader.plan();
  REQUIRE(units.size() == 1);
  Collect got;
  reader.read(units[0], got);
  REQUIRE(got.items.size() == 1);
  const auto& back = got.items[0];
  CHECK(back.id() == "frames_mask");
  CHECK(same_pixels(back.array("image"), mask));
  CHECK(back.meta.get_string("npy_descr") == "|u1");
  CHECK(back.meta.get_string("npy_shape") == "(5, 4)");
  CHECK(back.meta.get_bool("npy_fortran_order") == false);
  CHECK(back.meta.get_string("npy_version") == "1.0");
  CHECK_FALSE(back.meta.has("units"));

  npy::NpyWrite empty_name;
  empty_name.array.assign(lumen::ParamValue{std::string()});
  CHECK_THROWS_AS(empty_name.validate(), lumen::ConfigError);
}

TEST_CASE("npy.append streams frames and blocks into one file with the final frame count", "[npy][stage]") {
  TempDir tmp("npy-append");
  TestContext ctx(tmp.path() / "outputs");
  fs::create_directories(ctx.outputs_dir());
  npy::NpyAppend stack;
  stack.name.assign(lumen::ParamValue{std::string("movie.npy")});
  stack.validate();
  stack.attach(ctx);
  stack.start();
  const auto block = random_array<std::uint16_t>(lumen::Shape{3, 4, 5}, 21);
  const auto frame = random_array<std::uint16_t>(lumen::Shape{4, 5}, 22);
  Collect out;
  lumen::Item a("m/0000"), b("m/0003"), bad("m/0004");
  a.set("image", block);
  b.set("image", frame);
  bad.set("image", random_array<float>(lumen::Shape{4, 5}, 23));
  stack.process(a, out);
  stack.process(b, out);
  CHECK_THROWS_WITH(stack.process(bad, out), Catch::Contains("m/0004") && Catch::Contains("f32"));
  CHECK_FALSE(fs::exists(ctx.outputs_dir() / "movie.npy")); // appears only at the end
  stack.finish(out);
  CHECK(out.items.empty());
  const lumen::FileSource src(ctx.outputs_dir() / "movie.npy");
  const npy::Header h = npy::read_header(src);
  CHECK(h.shape == std::vector<std::int64_t>{4, 4, 5});
  CHECK(h.data_offset % 64 == 0);
  const lumen::Array back = npy::read_data(src, h);
  CHECK(same_pixels(back.slice(0, 3).contiguous_copy(), block));
  CHECK(same_pixels(back.slice(3, 4).contiguous_copy().reshape(lumen::Shape{4, 5}), frame));
  CHECK(same_pixels(npy::read_frames(src, h, 1, 3), block.slice(1, 3).contiguous_copy()));
  CHECK_THROWS_WITH(npy::read_frames(src, h, 2, 5), Catch::Contains("outside the 4 frames"));
}

TEST_CASE("numpy reads what npy.write writes and npy.read reads what numpy writes", "[npy][python]") {
  if (!have_numpy()) {
    WARN("SKIPPED: /usr/bin/python3 with numpy is not available");
    return;
  }
  TempDir tmp("npy-py");
  SECTION("np.load of Lumen files") {
    const lumen::Array arrays[] = {
        random_array<std::uint8_t>(lumen::Shape{3, 4}, 1), random_array<std::uint16_t>(lumen::Shape{2, 3, 4}, 2),
        random_array<std::int16_t>(lumen::Shape{5}, 3),    random_array<std::uint32_t>(lumen::Shape{2, 2, 2, 2}, 4),
        random_array<std::int32_t>(lumen::Shape{3, 4}, 5), random_array<float>(lumen::Shape{3, 4}, 6),
        random_array<double>(lumen::Shape{4, 3}, 7)};
    int n = 0;
    for (const auto& a : arrays) {
      const auto dir = tmp.path() / std::to_string(n++);
      fs::create_directories(dir);
      lumen::test::write_bytes(dir / "a.npy", encode(a));
      lumen::test::write_bytes(dir / "a.raw", Bytes(static_cast<const unsigned char*>(a.raw()),
                                                    static_cast<const unsigned char*>(a.raw()) + a.nbytes()));
      const std::string cmd = "/usr/bin/python3 -c \"import sys, numpy as np; a = np.load(sys.argv[1]); "
                              "raw = open(sys.argv[2], 'rb').read(); "
                              "sys.exit(0 if a.dtype.str == sys.argv[3] and list(a.shape) == " +
                              std::string("[") +
                              [&] {
                                std::string s;
                                for (int d = 0; d < a.ndim(); ++d) s += (d ? "," : "") + std::to_string(a.dim(d));
                                return s;
                              }() +
                              "] and a.tobytes() == raw else 1)\" " + (dir / "a.npy").string() + " " +
                              (dir / "a.raw").string() + " '" + npy::descr_of(a.dtype()) + "'";
      INFO(cmd);
      CHECK(std::system(cmd.c_str()) == 0);
    }
  }
  SECTION("Lumen reads numpy files of every supported kind") {
    // numpy writes each case and the bytes Lumen must produce (C order, converted dtype).
    const std::string script = R"PY(
import sys, os, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
cases = {
  'f4': (rng.standard_normal((3, 4)).astype('<f4'), '<f4'),
  'be_f8': (rng.standard_normal((2, 5)).astype('>f8'), '<f8'),
  'be_u2': (rng.integers(0, 65535, (4, 3)).astype('>u2'), '<u2'),
  'i1': (rng.integers(-128, 127, (6,)).astype('i1'), '<i2'),
  'b1': (rng.integers(0, 2, (3, 3)).astype('?'), '|u1'),
  'f2': (rng.standard_normal((2, 2, 3)).astype('<f2'), '<f4'),
  'i8': (np.arange(-6, 6).reshape(3, 4), '<i4'),
  'fortran': (np.asfortranarray(rng.standard_normal((2, 3, 4)).astype('<f4')), '<f4'),
  'fortran_u1_4d': (np.asfortranarray(np.arange(24, dtype='u1').reshape(1, 2, 3, 4)), '|u1'),
  'scalar': (np.array(5.5), '<f8'),
}
for name, (a, want) in cases.items():
    np.save(os.path.join(d, name + '.npy'), a)
    open(os.path.join(d, name + '.raw'), 'wb').write(np.ascontiguousarray(a.astype(want)).tobytes())
with open(os.path.join(d, 'v2.npy'), 'wb') as f:
    np.lib.format.write_array(f, np.arange(6, dtype='<i4').reshape(2, 3), version=(2, 0))
open(os.path.join(d, 'v2.raw'), 'wb').write(np.arange(6, dtype='<i4').tobytes())
with open(os.path.join(d, 'v3.npy'), 'wb') as f:
    np.lib.format.write_array(f, np.arange(6, dtype='<u2').reshape(3, 2), version=(3, 0))
open(os.path.join(d, 'v3.raw'), 'wb').write(np.arange(6, dtype='<u2').tobytes())
)PY";
    lumen::test::write_bytes(tmp.path() / "make.py", Bytes(script.begin(), script.end()));
    REQUIRE(std::system(
                ("/usr/bin/python3 " + (tmp.path() / "make.py").string() + " " + tmp.path().string()).c_str()) == 0);
    int checked = 0;
    for (const auto& e : fs::directory_iterator(tmp.path())) {
      if (e.path().extension() != ".npy") continue;
      INFO(e.path());
      const auto a = decode(lumen::test::read_bytes(e.path()), e.path().string());
      auto raw = e.path();
      raw.replace_extension(".raw");
      const auto want = lumen::test::read_bytes(raw);
      REQUIRE(a.nbytes() == want.size());
      CHECK(std::memcmp(a.raw(), want.data(), want.size()) == 0);
      ++checked;
    }
    CHECK(checked == 12);
  }
}

TEST_CASE("the npy plugin descriptor lists npy.read, npy.write and npy.append", "[npy][plugin]") {
  const auto* table = static_cast<const lumen::StageTable*>(lumen_plugin_descriptor()->stage_table);
  REQUIRE(table->stages.size() == 3);
  CHECK(table->stages[0].name == "npy.read");
  CHECK(table->stages[1].name == "npy.write");
  CHECK(table->stages[2].name == "npy.append");
  CHECK_FALSE(table->stages[2].concurrent); // one open file, frames in order
  CHECK(table->stages[2].ordered_input);
  for (const auto& f : table->stages) {
    CHECK(f.concurrent == (f.name != "npy.append"));
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
}
