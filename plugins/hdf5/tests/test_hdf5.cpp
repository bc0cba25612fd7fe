// Unit tests for the `hdf5` set: round trips for every dtype x codec x rank (per item and
// appended in blocks, with and without the compression pool); the shuffle/deflate encoding
// against HDF5's own filters; type conversions (i8, i64, u64, f16) and refusals (strings,
// compounds); the real areaDetector and CXI files against MANIFEST.md, streamed in ranges;
// the numbered PETRA TIFF frames against the CXI frames they came from; missing datasets,
// groups, non-HDF5 and cut files with their messages; the stages driven directly; and an
// h5py cross-check (data, filters, attributes).
//
// Run: build/bin/test_hdf5   (or ctest -R hdf5)
// The stages under test are used in pipelines like:
//   - id: in
//     use: hdf5.read
//     with: {path: scan.cxi, dataset: entry_1/instrument_1/detector_1/data, frames_per_item: 20}
#include "hdf5_io.hpp"
#include "hdf5_stages.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "tiff_io.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <hdf5.h>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using lumen::Array;
using lumen::DType;
using lumen::Shape;
using lumen::hdf5::Codec;
using lumen::test::TempDir;

namespace {

using lumen::test::error_of;
using lumen::test::same_pixels;

Array random_array(DType dtype, const Shape& shape, unsigned seed) {
  Array a(dtype, shape);
  std::mt19937 rng(seed);
  auto* p = static_cast<unsigned char*>(a.raw());
  for (std::size_t i = 0; i < a.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng() % 5 + (i / 31) % 100);
  if (dtype == DType::f32)
    for (auto& v : a.writable<float>()) v = static_cast<float>(rng() % 4000) * 0.5f;
  if (dtype == DType::f64)
    for (auto& v : a.writable<double>()) v = static_cast<double>(rng() % 40000) * 0.25 - 9;
  return a;
}

void write_array(const fs::path& file, const Array& a, Codec codec, lumen::ThreadPool* pool,
                 const std::string& dataset = "data") {
  lumen::hdf5::WriteOptions o;
  o.dataset = dataset;
  o.codec = codec;
  lumen::hdf5::H5ChunkWriter w(file, a.dtype(), a.shape(), false, o, pool, "test");
  w.append(a);
  w.close();
}

// A dataset written with HDF5's own API (for types and filters the writer does not produce).
void raw_dataset(const fs::path& file, const char* name, hid_t type, std::vector<hsize_t> dims, const void* data,
                 bool chunk_deflate = false) {
  const hid_t f = fs::exists(file) ? H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                                   : H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk_deflate) {
    H5Pset_chunk(dcpl, static_cast<int>(dims.size()), dims.data());
    H5Pset_shuffle(dcpl);
    H5Pset_deflate(dcpl, 6);
  }
  const hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  REQUIRE(d >= 0);
  if (data) REQUIRE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(f);
}

bool have_python_module(const std::string& module) {
  return std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

template <typename S> void set_param(lumen::Param<S>& p, const S& v) {
  if constexpr (std::is_same_v<S, int>)
    p.assign(lumen::ParamValue{std::int64_t{v}});
  else
    p.assign(lumen::ParamValue{v});
}

} // namespace

TEST_CASE("the library is thread-safe or serialised", "[hdf5]") {
  // Debian's build is thread-safe; either way H5Lock makes concurrent reads correct.
  INFO("thread-safe: " << lumen::hdf5::library_threadsafe());
  lumen::hdf5::H5Lock lock;
  SUCCEED();
}

// ---- round trips ------------------------------------------------------------------------------

TEST_CASE("round trips are bit exact for every dtype, codec and rank", "[hdf5][io]") {
  TempDir tmp("hdf5");
  lumen::ThreadPool pool(2);
  const auto dtype = GENERATE(DType::u8, DType::u16, DType::i16, DType::u32, DType::i32, DType::f32, DType::f64);
  const auto codec = GENERATE(Codec::none, Codec::deflate, Codec::shuffle_deflate);
  const bool use_pool = GENERATE(false, true);
  for (const Shape& shape : {Shape{37}, Shape{23, 41}, Shape{5, 17, 19}, Shape{3, 8, 9, 3}}) {
    INFO(lumen::dtype_name(dtype) << " codec " << static_cast<int>(codec) << " " << shape.str());
    const Array a = random_array(dtype, shape, static_cast<unsigned>(shape.size()));
    write_array(tmp.path() / "r.h5", a, codec, use_pool ? &pool : nullptr, "entry/data/data");
    lumen::hdf5::H5Reader r(tmp.path() / "r.h5");
    CHECK(same_pixels(r.read("entry/data/data"), a));
    if (shape.ndim >= 3) {
      CHECK(same_pixels(r.read("entry/data/data", 1, 3), a.slice(1, 3)));
      CHECK(r.read("entry/data/data", 2, 3, true).ndim() == shape.ndim - 1);
    }
  }
}

TEST_CASE("append mode grows one dataset block by block", "[hdf5][io]") {
  TempDir tmp("hdf5");
  lumen::ThreadPool pool(3);
  const Array all = random_array(DType::u16, Shape{50, 21, 13}, 7);
  lumen::hdf5::WriteOptions o;
  o.codec = Codec::shuffle_deflate;
  {
    lumen::hdf5::H5ChunkWriter w(tmp.path() / "a.h5", DType::u16, Shape{1, 21, 13}, true, o, &pool, "append");
    for (std::int64_t b = 0; b < 50;) {
      const std::int64_t n = (b % 3) + 1; // blocks of 1, 2, 3 frames
      const std::int64_t e = std::min<std::int64_t>(50, b + n);
      w.append(all.slice(b, e));
      b = e;
    }
    CHECK_THAT(error_of([&] { w.append(Array(DType::u16, Shape{1, 21, 14})); }), Catch::Contains("does not fit"));
    CHECK_THAT(error_of([&] { w.append(Array(DType::f32, Shape{1, 21, 13})); }), Catch::Contains("dtype f32"));
    w.close();
    CHECK(w.frames_written() == 50);
  }
  lumen::hdf5::H5Reader r(tmp.path() / "a.h5");
  CHECK(r.info("data").dims == std::vector<std::int64_t>{50, 21, 13});
  CHECK(same_pixels(r.read("data"), all));
}

TEST_CASE("pre-filtered chunks equal what HDF5's own shuffle and deflate decode", "[hdf5][io]") {
  const Array a = random_array(DType::i32, Shape{64, 33}, 3);
  const auto* p = static_cast<const unsigned char*>(a.raw());
  for (const auto codec : {Codec::none, Codec::deflate, Codec::shuffle_deflate}) {
    const auto enc = lumen::hdf5::encode_chunk(codec, 6, 4, p, a.nbytes());
    const auto dec = lumen::hdf5::decode_chunk(codec, 4, enc, a.nbytes());
    REQUIRE(dec.size() == a.nbytes());
    CHECK(std::memcmp(dec.data(), p, a.nbytes()) == 0);
  }
  // HDF5 writes with its own filters; we read back and compare: same data through both paths.
  TempDir tmp("hdf5");
  raw_dataset(tmp.path() / "h.h5", "x", H5T_NATIVE_INT32, {64, 33}, a.raw(), true);
  CHECK(same_pixels(lumen::hdf5::H5Reader(tmp.path() / "h.h5").read("x"), a));
}

// ---- types ------------------------------------------------------------------------------------

TEST_CASE("i8 reads as i16, 64-bit integers as f64 when exact, others are refused", "[hdf5][types]") {
  TempDir tmp("hdf5");
  const fs::path f = tmp.path() / "t.h5";
  const std::vector<std::int8_t> i8 = {-128, -1, 0, 127};
  raw_dataset(f, "i8", H5T_NATIVE_INT8, {2, 2}, i8.data());
  const std::vector<std::int64_t> i64 = {-(std::int64_t{1} << 53), 5, 7, 1 << 30};
  raw_dataset(f, "i64", H5T_NATIVE_INT64, {4}, i64.data());
  const std::vector<std::uint64_t> u64 = {1, (std::uint64_t{1} << 53) + 1};
  raw_dataset(f, "u64", H5T_NATIVE_UINT64, {2}, u64.data());
  const std::vector<float> f32 = {1.5f, -2.0f};
  raw_dataset(f, "f16", H5T_IEEE_F32LE, {2}, f32.data()); // stored as f32; f16 conversion is HDF5's
  const hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 8);
  raw_dataset(f, "names", str, {2}, "abcdefghabcdefgh");
  H5Tclose(str);

  lumen::hdf5::H5Reader r(f);
  const Array a = r.read("i8");
  REQUIRE(a.dtype() == DType::i16);
  CHECK(a.view<std::int16_t>().data()[0] == -128);
  CHECK(a.view<std::int16_t>().data()[3] == 127);
  const Array b = r.read("i64");
  REQUIRE(b.dtype() == DType::f64);
  CHECK(b.view<double>().data()[0] == -9007199254740992.0);
  CHECK(r.info("i64").stored == "i64");
  CHECK_THAT(error_of([&] { (void)r.read("u64"); }), Catch::Contains(f.string()) && Catch::Contains("beyond 2^53"));
  CHECK(r.read("f16").dtype() == DType::f32);
  CHECK_THAT(error_of([&] { (void)r.read("names"); }),
             Catch::Contains("'names' cannot be read as an image") && Catch::Contains("class string"));
}

// ---- real files -------------------------------------------------------------------------------

TEST_CASE("APS areaDetector Pilatus file: entry/data/data (195, 487) int32 with NDAttributes", "[hdf5][real]") {
  LUMEN_SHARED_FILE(file, "hdf5/APS15IDD_areaDetector_Pilatus_AgBehenate_228.hdf5");
  lumen::hdf5::H5Reader r(file);
  const Array a = r.read("entry/data/data");
  CHECK(a.shape() == Shape{195, 487});
  CHECK(a.dtype() == DType::i32);
  lumen::Meta meta;
  r.read_attributes("entry/data/data", meta);
  INFO(meta.to_json());
  CHECK(meta.size() > 3);
}

TEST_CASE("PETRA III CXI: (200, 100, 100) int32 0..29176, streamed in ranges equals whole", "[hdf5][real]") {
  LUMEN_SHARED_FILE(file, "ptycho/PETRAIII_P25_Near_Field_Ptycho.cxi");
  const std::string ds = "entry_1/instrument_1/detector_1/data";
  lumen::hdf5::H5Reader r(file);
  const Array all = r.read(ds);
  REQUIRE(all.shape() == Shape{200, 100, 100});
  REQUIRE(all.dtype() == DType::i32);
  const auto v = all.view<std::int32_t>();
  CHECK(*std::min_element(v.begin(), v.end()) == 0);
  CHECK(*std::max_element(v.begin(), v.end()) == 29176);

  lumen::hdf5::Hdf5Read reader;
  set_param(reader.path, file.string());
  set_param(reader.dataset, ds);
  set_param(reader.frames_per_item, 30);
  reader.validate();
  TempDir tmp("hdf5");
  lumen::testing::Context ctx(tmp.path());
  reader.attach(ctx);
  const auto units = reader.plan();
  REQUIRE(units.size() == 7);
  lumen::testing::Collect out;
  for (const auto& u : units) reader.read(u, out);
  REQUIRE(out.items.size() == 7);
  CHECK(out.items[6].array("image").shape() == Shape{20, 100, 100});
  CHECK(out.items[3].id() == "PETRAIII_P25_Near_Field_Ptycho/0090");
  CHECK(out.items[3].meta.get_int("index") == 90);
  for (std::size_t i = 0; i < 7; ++i)
    CHECK(same_pixels(out.items[i].array("image"),
                      all.slice(static_cast<std::int64_t>(i) * 30, std::min<std::int64_t>(200, (i + 1) * 30))));
}

TEST_CASE("the numbered PETRA TIFF frames equal CXI frames 0-19", "[hdf5][real][tiff]") {
  LUMEN_SHARED_FILE(file, "ptycho/PETRAIII_P25_Near_Field_Ptycho.cxi");
  const fs::path frames = lumen::test::shared_data_dir() / "tiff" / "numbered_petraP25_frames_u16";
  const Array cxi = lumen::hdf5::H5Reader(file).read("entry_1/instrument_1/detector_1/data", 0, 20);
  for (int i = 0; i < 20; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "frame_%04d.tif", i);
    const Array t = lumen::tiff::TiffFile(frames / name).read_page(0);
    REQUIRE(t.shape() == Shape{100, 100});
    REQUIRE(t.dtype() == DType::u16);
    CHECK(same_pixels(t.as(DType::i32), cxi.slice(i, i + 1).reshape(Shape{100, 100})));
  }
}

// ---- bad input --------------------------------------------------------------------------------

TEST_CASE("missing datasets, groups, non-HDF5 and cut files fail with clear messages", "[hdf5][bad]") {
  TempDir tmp("hdf5");
  const fs::path f = tmp.path() / "m.h5";
  write_array(f, random_array(DType::u8, Shape{4, 5}, 1), Codec::none, nullptr, "entry/data/data");
  raw_dataset(f, "entry/data/other", H5T_NATIVE_INT32, {3}, std::vector<std::int32_t>{1, 2, 3}.data());
  lumen::hdf5::H5Reader r(f);
  CHECK_THAT(error_of([&] { (void)r.read("entry/data/dat"); }),
             Catch::Contains(f.string()) && Catch::Contains("no dataset 'entry/data/dat'") &&
                 Catch::Contains("group '/entry/data' holds: data (4x5), other (3)"));
  CHECK_THAT(error_of([&] { (void)r.read("entry/nothing/here/x"); }), Catch::Contains("group '/entry' holds: data/"));
  CHECK_THAT(error_of([&] { (void)r.read("entry"); }),
             Catch::Contains("'entry' is a group, not a dataset; it holds: data/"));
  CHECK_THAT(error_of([&] { (void)r.read("entry/data/data", 2, 9); }),
             Catch::Contains("frames [2, 9) are outside dataset 'entry/data/data' of 4 frames"));
  // The reader stage streams only stacks.
  lumen::hdf5::Hdf5Read stage;
  set_param(stage.path, f.string());
  set_param(stage.dataset, std::string("entry/data/data"));
  set_param(stage.frames_per_item, 2);
  lumen::testing::Context ctx(tmp.path());
  stage.attach(ctx);
  const auto units = stage.plan();
  REQUIRE(units.size() == 1);
  lumen::testing::Collect out;
  CHECK_THAT(error_of([&] { stage.read(units[0], out); }), Catch::Contains("need a stack of rank 3 or 4"));

  lumen::test::write_bytes(tmp.path() / "x.h5", {'n', 'o', 't', ' ', 'h', 'd', 'f'});
  CHECK_THAT(error_of([&] { lumen::hdf5::H5Reader x(tmp.path() / "x.h5"); }),
             Catch::Contains("x.h5") && Catch::Contains("not an HDF5 file"));
  CHECK_THAT(error_of([&] { lumen::hdf5::H5Reader x(tmp.path() / "none.h5"); }), Catch::Contains("no such file"));

  // Cut copies of a compressed stack: every truncation fails with the file's name.
  const fs::path big = tmp.path() / "big.h5";
  write_array(big, random_array(DType::u16, Shape{6, 40, 40}, 2), Codec::shuffle_deflate, nullptr);
  int failed = 0;
  for (const auto& v : lumen::test::corrupt_variants(big, tmp.path(), 2048, 48)) {
    INFO(v.what);
    try {
      lumen::hdf5::H5Reader x(v.path);
      (void)x.read("data");
      CHECK_FALSE(v.truncated);
    } catch (const lumen::InputError& e) {
      CHECK_THAT(e.what(), Catch::Contains(v.path.string()));
      ++failed;
    }
  }
  CHECK(failed >= 5);
}

// ---- stages -----------------------------------------------------------------------------------

TEST_CASE("hdf5.read single frames and a frames range", "[hdf5][stage]") {
  TempDir tmp("hdf5");
  const Array all = random_array(DType::f32, Shape{12, 6, 7}, 4);
  write_array(tmp.path() / "s.h5", all, Codec::deflate, nullptr, "entry/data");
  lumen::testing::Context ctx(tmp.path());
  lumen::hdf5::Hdf5Read r;
  set_param(r.path, (tmp.path() / "s.h5").string());
  set_param(r.dataset, std::string("entry/data"));
  set_param(r.frames_per_item, 1);
  set_param(r.frames, std::vector<std::int64_t>{5, 9});
  r.validate();
  r.attach(ctx);
  const auto units = r.plan();
  REQUIRE(units.size() == 4);
  lumen::testing::Collect out;
  for (const auto& u : units) r.read(u, out);
  REQUIRE(out.items.size() == 4);
  CHECK(out.items[0].array("image").shape() == Shape{6, 7});
  CHECK(out.items[0].id() == "s/0005");
  CHECK(same_pixels(out.items[2].array("image"), all.slice(7, 8).reshape(Shape{6, 7})));
  CHECK(out.items[0].meta.get_string("hdf5_dtype") == "f32");

  set_param(r.frames, std::vector<std::int64_t>{5, 50});
  const auto bad = r.plan();
  REQUIRE(bad.size() == 1);
  CHECK_THAT(error_of([&] { r.read(bad[0], out); }), Catch::Contains("outside dataset 'entry/data' of 12 frames"));

  set_param(r.frames, std::vector<std::int64_t>{9, 5});
  CHECK_THROWS_AS(r.validate(), lumen::ConfigError);
}

TEST_CASE("hdf5.append and hdf5.write, with attributes", "[hdf5][stage]") {
  TempDir tmp("hdf5");
  lumen::testing::Context ctx(tmp.path(), "stack");
  lumen::hdf5::Hdf5Append w;
  set_param(w.out.compression, std::string("shuffle+deflate"));
  set_param(w.out.dataset, std::string("entry/data/data"));
  w.validate();
  w.attach(ctx);
  w.start();
  const Array all = random_array(DType::i32, Shape{9, 10, 11}, 5);
  lumen::testing::Collect out;
  for (std::int64_t i = 0; i < 9; ++i) {
    lumen::Item item("f" + std::to_string(i));
    item.meta.set("exposure", 0.5, "s");
    item.meta.set("detector", "pilatus");
    item.meta.set("flag", true);
    item.meta.set("roi", std::vector<double>{1, 2, 3});
    item.set("image", i == 4 ? all.slice(4, 6) : all.slice(i, i + 1).reshape(Shape{10, 11}));
    if (i == 5) continue; // frames 4 and 5 came as one block
    w.process(item, out);
  }
  lumen::Item wrong("wrong");
  wrong.set("image", Array(DType::i32, Shape{10, 12}));
  CHECK_THAT(error_of([&] { w.process(wrong, out); }), Catch::Contains("does not fit"));
  CHECK_FALSE(fs::exists(tmp.path() / "stack.h5")); // not before finish
  w.finish(out);
  REQUIRE(fs::exists(tmp.path() / "stack.h5"));
  REQUIRE(ctx.recorded.size() == 1);
  lumen::hdf5::H5Reader r(tmp.path() / "stack.h5");
  CHECK(same_pixels(r.read("entry/data/data"), all));
  lumen::Meta meta;
  r.read_attributes("entry/data/data", meta);
  CHECK(meta.get_number("exposure") == 0.5);
  CHECK(meta.get_string("detector") == "pilatus");
  CHECK(meta.get_int("flag") == 1);
  CHECK(meta.get_list("roi") == std::vector<double>{1, 2, 3});
  CHECK_FALSE(meta.has("index"));

  lumen::hdf5::Hdf5Write p;
  p.attach(ctx);
  p.start();
  lumen::Item item("one");
  item.set("image", all);
  p.process(item, out);
  REQUIRE(out.items.size() == 1);
  CHECK(out.items[0].meta.get_string("hdf5_path") == "one.h5");
  CHECK(same_pixels(lumen::hdf5::H5Reader(tmp.path() / "one.h5").read("data"), all));
  for (const auto& e : fs::directory_iterator(tmp.path())) CHECK(e.path().extension() != ".lumen-tmp");
}

// ---- h5py -------------------------------------------------------------------------------------

TEST_CASE("h5py reads the data, filters and attributes hdf5.write writes", "[hdf5][python]") {
  if (!have_python_module("h5py") || !have_python_module("numpy")) {
    WARN("SKIPPED: /usr/bin/python3 with h5py and numpy not available");
    return;
  }
  TempDir tmp("hdf5");
  lumen::ThreadPool pool(2);
  const Array a = random_array(DType::u16, Shape{7, 30, 20}, 8);
  lumen::hdf5::WriteOptions o;
  o.dataset = "entry/data/data";
  o.codec = Codec::shuffle_deflate;
  {
    lumen::hdf5::H5ChunkWriter w(tmp.path() / "p.h5", DType::u16, a.shape(), false, o, &pool, "t");
    w.append(a);
    lumen::Meta m;
    m.set("gain", 1.25);
    m.set("count", std::int64_t{7});
    m.set("name", "Lumen");
    w.write_attributes(m);
    w.close();
  }
  lumen::test::write_bytes(tmp.path() / "a.bin",
                           std::vector<unsigned char>(static_cast<const unsigned char*>(a.raw()),
                                                      static_cast<const unsigned char*>(a.raw()) + a.nbytes()));
  const std::string check = "import h5py, numpy as np, sys\n"
                            "d = h5py.File(sys.argv[1], 'r')['entry/data/data']\n"
                            "a = np.fromfile(sys.argv[2], dtype=np.uint16).reshape(7, 30, 20)\n"
                            "assert d.shape == (7, 30, 20) and d.dtype == np.uint16, (d.shape, d.dtype)\n"
                            "assert d.compression == 'gzip' and d.shuffle and d.chunks == (1, 30, 20), d.chunks\n"
                            "assert np.array_equal(d[()], a)\n"
                            "assert d.attrs['gain'] == 1.25 and d.attrs['count'] == 7 and d.attrs['name'] == 'Lumen'\n";
  lumen::test::write_bytes(tmp.path() / "c.py", std::vector<unsigned char>(check.begin(), check.end()));
  CHECK(std::system(("/usr/bin/python3 " + (tmp.path() / "c.py").string() + " " + (tmp.path() / "p.h5").string() + " " +
                     (tmp.path() / "a.bin").string())
                        .c_str()) == 0);
}
