// Unit tests for the `zarr` set: bit-exact round trips for every dtype through zarr.write and
// zarr.read (T not divisible by chunk_frames, spatial chunks with partial edges, blocks and single
// frames mixed), partial reads against full reads, every compressor option, meta through .zattrs,
// several movies, atomic stores (failures leave no temporary directory, stale ones are removed,
// an old store is replaced whole), corrupt and truncated chunks, bad .zarray documents, bad
// parameters, and zarr-python in both directions (skipped without /usr/bin/python3 + zarr).
//
// Run: build/bin/test_zarr   (or ctest -R zarr)
// The stages under test are used in pipelines like:
//   - id: store
//     use: zarr.write
//     with: {chunk_frames: 100, chunk_rows: 128, chunk_cols: 128}
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "zarr_io.hpp"
#include "zarr_stages.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using lumen::Array;
using lumen::DType;
using lumen::Item;
using lumen::ParamValue;
using lumen::Shape;
using lumen::test::error_of;
using lumen::test::same_pixels;
using lumen::test::TempDir;
using lumen::zarr::Compressor;
using lumen::zarr::StoreReader;
using lumen::zarr::StoreWriter;
using lumen::zarr::ZarrRead;
using lumen::zarr::ZarrWrite;

namespace {

constexpr DType kAllDtypes[] = {DType::u8, DType::u16, DType::i16, DType::u32, DType::i32, DType::f32, DType::f64};

Array random_movie(DType dtype, const Shape& shape, unsigned seed) {
  Array a(dtype, shape);
  std::mt19937 rng(seed);
  auto* p = static_cast<unsigned char*>(a.raw());
  for (std::size_t i = 0; i < a.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng() % 7 + (i / 29) % 50);
  if (dtype == DType::f32)
    for (auto& v : a.writable<float>()) v = static_cast<float>(rng() % 4000) * 0.37f - 100;
  if (dtype == DType::f64)
    for (auto& v : a.writable<double>()) v = static_cast<double>(rng() % 40000) * 0.013 - 9;
  return a;
}

ParamValue int_value(std::int64_t v) {
  return ParamValue{v};
}
ParamValue text(const std::string& s) {
  return ParamValue{s};
}

Item movie_item(const std::string& stem, std::int64_t file_index, std::int64_t index, Array image) {
  char id[64];
  std::snprintf(id, sizeof id, "%s/%04lld", stem.c_str(), static_cast<long long>(index));
  Item item(id);
  item.provenance.source_file = "/data/" + stem + ".npy";
  item.meta.set("index", index);
  item.meta.set("file_index", file_index);
  item.set("image", std::move(image));
  return item;
}

// Feeds `movie` (T, H, W) to `w` as items of the given frame counts (1 -> an (H, W) frame).
void feed(ZarrWrite& w, const Array& movie, const std::string& stem, std::int64_t file_index,
          const std::vector<std::int64_t>& sizes, lumen::Emit& out) {
  std::int64_t t = 0;
  std::size_t k = 0;
  while (t < movie.dim(0)) {
    const std::int64_t n = std::min(sizes[k++ % sizes.size()], movie.dim(0) - t);
    Array block = movie.slice(t, t + n);
    if (n == 1) block = block.contiguous_copy().reshape(Shape{movie.dim(1), movie.dim(2)});
    Item item = movie_item(stem, file_index, t, block);
    w.process(item, out);
    t += n;
  }
}

struct Writer {
  lumen::testing::Context ctx;
  ZarrWrite stage;
  lumen::testing::Collect out;
  explicit Writer(const fs::path& dir) : ctx(dir, "store") {}
  void start() {
    stage.validate();
    stage.attach(ctx);
    stage.start();
  }
};

std::vector<Item> read_store(const fs::path& path, std::int64_t frames_per_item = 0,
                             std::vector<std::int64_t> range = {}, int threads = 0) {
  lumen::testing::Context ctx(path.parent_path(), "in");
  ZarrRead r;
  r.path.assign(text(path.string()));
  r.frames_per_item.assign(int_value(frames_per_item));
  if (!range.empty()) r.frames.assign(ParamValue{range});
  r.threads.assign(int_value(threads));
  return lumen::testing::read_all(r, ctx);
}

// Items of one store (read in blocks), concatenated along axis 0.
Array concat(const std::vector<Item>& items) {
  std::int64_t t = 0;
  for (const auto& it : items) t += it.array("image").dim(0);
  const Array& a0 = items.at(0).array("image");
  Shape s = a0.shape();
  s.dims[0] = t;
  Array out(a0.dtype(), s);
  auto* dst = static_cast<unsigned char*>(out.raw());
  for (const auto& it : items) {
    const Array a = it.array("image").contiguous_copy();
    std::memcpy(dst, a.raw(), a.nbytes());
    dst += a.nbytes();
  }
  return out;
}

fs::path store_of(const fs::path& outputs, const std::string& value) {
  return outputs / "lumen" / "movies" / ("movie=" + value) / "data.zarr";
}

std::size_t temp_entries(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename().string().find(".lumen-tmp") != std::string::npos) ++n;
  return n;
}

bool have_zarr_python() {
  return std::system("/usr/bin/python3 -c 'import zarr, numcodecs, numpy' >/dev/null 2>&1") == 0;
}

std::string run_python(const fs::path& script_file, const std::string& script, const std::string& args) {
  std::ofstream(script_file) << script;
  const std::string cmd = "/usr/bin/python3 " + script_file.string() + " " + args + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  return out;
}

} // namespace

TEST_CASE("zarr.write -> zarr.read is bit-exact for every dtype, with partial edge chunks", "[zarr][roundtrip]") {
  TempDir tmp("zarr-roundtrip");
  for (int format : {2, 3})
    for (DType dt : kAllDtypes) {
      DYNAMIC_SECTION("Zarr v" << format << ", dtype " << lumen::dtype_name(dt)) {
        const Array movie = random_movie(dt, Shape{23, 37, 45}, 11 + static_cast<unsigned>(dt));
        Writer w(tmp.path() / ("v" + std::to_string(format)) / std::string(lumen::dtype_name(dt)));
        w.stage.zarr_format.assign(int_value(format));
        w.stage.chunk_frames.assign(int_value(5));
        w.stage.chunk_rows.assign(int_value(16));
        w.stage.chunk_cols.assign(int_value(20));
        w.stage.threads.assign(int_value(3));
        w.start();
        feed(w.stage, movie, "cells", 0, {1, 4, 7, 1, 10}, w.out);
        CHECK(w.out.items.empty()); // emitted when the movie is complete
        w.stage.finish(w.out);
        REQUIRE(w.out.items.size() == 1);
        const Item& res = w.out.items[0];
        CHECK(res.array_names().empty());
        CHECK(res.meta.get_string("zarr_path") == "lumen/movies/movie=cells/data.zarr");
        CHECK(res.meta.get_int("zarr_frames") == 23);
        CHECK(res.meta.get_int("zarr_bytes_in") == static_cast<std::int64_t>(movie.nbytes()));
        CHECK(*res.meta.get_number("zarr_ratio") > 0);
        REQUIRE(w.ctx.recorded.size() == 1);
        const fs::path store = store_of(w.ctx.outputs_dir(), "cells");
        CHECK(w.ctx.recorded[0].first == store);

        const StoreReader r(store);
        CHECK(r.meta().shape == std::vector<std::int64_t>{23, 37, 45});
        CHECK(r.meta().chunks == std::vector<std::int64_t>{5, 16, 20});
        const fs::path last = format == 2 ? store / "4.2.2" : store / "c" / "4" / "2" / "2";
        CHECK(fs::exists(last)); // 5 x 3 x 3 chunks, edges stored full-size
        CHECK(fs::file_size(last) > 0);
        CHECK(r.meta().zarr_format == format);
        if (format == 2) {
          CHECK(r.meta().dtype_text == lumen::zarr::dtype_code(dt));
          CHECK(fs::exists(store / ".zattrs"));
        } else {
          CHECK(!fs::exists(store / ".zarray"));
          CHECK(!fs::exists(store / ".zattrs"));
          const auto doc = nlohmann::json::parse(lumen::test::read_bytes(store / "zarr.json"));
          CHECK(doc["node_type"] == "array");
          CHECK(doc["codecs"][1]["configuration"]["typesize"] == lumen::dtype_size(dt));
          CHECK(doc["attributes"]["lumen"]["frames"] == 23);
          CHECK(r.attrs_json().find("\"frames\":23") != std::string::npos);
        }
        CHECK(same_pixels(r.read(0, 23, nullptr, 1), movie));

        // Through the reader stage: chunk-aligned blocks, single frames, ranges.
        const auto blocks = read_store(store);
        REQUIRE(blocks.size() == 5);
        CHECK(blocks[0].id() == "cells/0000");
        CHECK(blocks[4].id() == "cells/0020");
        CHECK(blocks[4].array("image").shape() == Shape{3, 37, 45});
        CHECK(same_pixels(concat(blocks), movie));
        const auto frames = read_store(store, 1, {}, 2);
        REQUIRE(frames.size() == 23);
        CHECK(frames[7].array("image").shape() == Shape{37, 45});
        CHECK(frames[7].meta.get_int("index") == 7);
        for (std::int64_t t : {0, 7, 22})
          CHECK(same_pixels(frames[static_cast<std::size_t>(t)].array("image").contiguous_copy(),
                            movie.slice(t, t + 1).contiguous_copy().reshape(Shape{37, 45})));
        const auto range = read_store(store, 0, {3, 17}, 3); // cut at chunk boundaries: 3-5, 5-10, 10-15, 15-17
        REQUIRE(range.size() == 4);
        CHECK(range[1].meta.get_int("index") == 5);
        CHECK(same_pixels(concat(range), movie.slice(3, 17).contiguous_copy()));
        const auto sevens = read_store(store, 7, {2, 23});
        REQUIRE(sevens.size() == 3);
        CHECK(same_pixels(concat(sevens), movie.slice(2, 23).contiguous_copy()));
        CHECK(same_pixels(r.read(9, 12, nullptr, 2), movie.slice(9, 12).contiguous_copy()));
        CHECK(temp_entries(tmp.path()) == 0);
      }
    }
}

TEST_CASE("every compressor option round-trips, with and without a pool", "[zarr][codecs]") {
  TempDir tmp("zarr-codecs");
  const Array movie = random_movie(DType::u16, Shape{9, 20, 33}, 5);
  lumen::ThreadPool pool(3);
  int n = 0;
  struct Case {
    Compressor c;
    const char* cname;
    int clevel, shuffle;
    std::int64_t blocksize;
  };
  std::vector<Case> cases{{Compressor::none, "zstd", 5, 2, 0}};
  for (const char* cname : {"zstd", "lz4", "lz4hc", "blosclz", "zlib"})
    for (int shuffle : {0, 1, 2})
      for (int clevel : {0, 1, 5, 9}) cases.push_back({Compressor::blosc, cname, clevel, shuffle, 0});
  cases.push_back({Compressor::blosc, "zstd", 5, 2, 4096});
  cases.push_back({Compressor::blosc, "lz4", 3, 1, 256});
  for (const auto& c : cases)
    for (lumen::ThreadPool* p : {static_cast<lumen::ThreadPool*>(nullptr), &pool}) {
      INFO("cname " << c.cname << " clevel " << c.clevel << " shuffle " << c.shuffle << " blocksize " << c.blocksize
                    << (c.c == Compressor::none ? " (no compressor)" : ""));
      lumen::zarr::WriteOptions o;
      o.chunk_frames = 4;
      o.chunk_rows = 8;
      o.compressor = c.c;
      o.blosc = {c.cname, c.clevel, c.shuffle, c.blocksize};
      const fs::path store = tmp.path() / ("s" + std::to_string(n++) + ".zarr");
      StoreWriter w(store, DType::u16, 20, 33, o, p, "test");
      w.append(movie.slice(0, 5));
      w.append(movie.slice(5, 9));
      const auto stats = w.commit("");
      CHECK(stats.frames == 9);
      CHECK(stats.bytes_in == movie.nbytes());
      const StoreReader r(store);
      CHECK(r.meta().compressor == c.c);
      if (c.c == Compressor::blosc) {
        CHECK(r.meta().blosc.cname == c.cname);
        CHECK(r.meta().blosc.shuffle == c.shuffle);
        CHECK(r.meta().blosc.clevel == c.clevel);
        CHECK(r.meta().blosc.blocksize == c.blocksize);
      }
      CHECK(same_pixels(r.read(0, 9, p, 2), movie));
      CHECK(same_pixels(r.read(3, 6, p, 1), movie.slice(3, 6).contiguous_copy()));
    }
}

TEST_CASE("meta travels through .zattrs and comes back typed", "[zarr][meta]") {
  TempDir tmp("zarr-meta");
  Writer w(tmp.path());
  w.start();
  Item first = movie_item("m", 0, 0, random_movie(DType::u8, Shape{2, 8, 9}, 1));
  first.meta.set("photon_codec", "anscombe");
  first.meta.set("photon_gain", lumen::MetaValue{2.5});
  first.meta.set("photon_zero_level", lumen::MetaValue{100.0});
  first.meta.set("photon_beta", lumen::MetaValue{0.5});
  first.meta.set("frames_total", std::int64_t{42});
  first.meta.set("flag", true);
  first.meta.set("roi", lumen::MetaValue{std::vector<double>{1, 2.5, 3}});
  w.stage.process(first, w.out);
  Item second = movie_item("m", 0, 2, random_movie(DType::u8, Shape{8, 9}, 2));
  second.meta.set("photon_gain", lumen::MetaValue{9.0}); // only the first item's meta is kept
  w.stage.process(second, w.out);
  w.stage.finish(w.out);
  const fs::path store = store_of(tmp.path(), "m");
  const auto attrs = nlohmann::json::parse(lumen::test::read_bytes(store / ".zattrs"));
  CHECK(attrs["photon_codec"] == "anscombe");
  CHECK(attrs["photon_gain"] == 2.5);
  CHECK(!attrs.contains("index"));
  CHECK(!attrs.contains("file_index"));
  CHECK(attrs["lumen"]["frames"] == 3);
  CHECK(attrs["lumen"]["stage"] == "store");
  CHECK(attrs["lumen"]["run_id"] == "test-run");
  CHECK(attrs["lumen"]["source_file"] == "/data/m.npy");

  const auto items = read_store(store);
  REQUIRE(items.size() == 1);
  const auto& meta = items[0].meta;
  CHECK(meta.get_string("photon_codec") == "anscombe");
  CHECK(meta.get_number("photon_gain") == 2.5);
  CHECK(std::holds_alternative<double>(meta.find("photon_zero_level")->value)); // 100.0 stays a float
  CHECK(std::holds_alternative<std::int64_t>(meta.find("frames_total")->value));
  CHECK(meta.get_bool("flag") == true);
  CHECK(meta.get_list("roi") == std::vector<double>{1, 2.5, 3});
  CHECK_THAT(*meta.get_string("lumen"), Catch::Contains("\"frames\":3"));
  CHECK(meta.get_int("index") == 0);
  CHECK(meta.get_int("file_index") == 0);
  CHECK(meta.get_string("zarr_path") == store.string());
  CHECK(meta.get_list("zarr_shape") == std::vector<double>{3, 8, 9});

  const auto other = lumen::zarr::attrs_to_meta(R"({"n": null, "mixed": [1, "a"], "o": {"a": 1}, "e": []})", "x");
  CHECK(other.get_string("n") == "null");
  CHECK(other.get_string("mixed") == R"([1,"a"])");
  CHECK(other.get_string("o") == R"({"a":1})");
  CHECK(lumen::zarr::attrs_to_meta("", "x").size() == 0);
  CHECK_THAT(error_of([] { (void)lumen::zarr::attrs_to_meta("[1]", "s/.zattrs"); }),
             Catch::Contains("s/.zattrs") && Catch::Contains("JSON object"));
}

TEST_CASE("each movie (file_index) becomes its own store and a reader finds them all", "[zarr][movies]") {
  TempDir tmp("zarr-movies");
  Writer w(tmp.path());
  w.stage.chunk_frames.assign(int_value(4));
  w.start();
  const Array a = random_movie(DType::u16, Shape{6, 10, 12}, 1), b = random_movie(DType::u16, Shape{9, 10, 12}, 2);
  feed(w.stage, a, "alpha", 0, {2}, w.out);
  CHECK(w.out.items.empty());
  feed(w.stage, b, "beta", 1, {1, 3}, w.out);
  REQUIRE(w.out.items.size() == 1); // alpha finished when beta's first item arrived
  CHECK(w.out.items[0].meta.get_int("zarr_frames") == 6);
  w.stage.finish(w.out);
  REQUIRE(w.out.items.size() == 2);
  CHECK(w.out.items[1].id() == "beta");
  CHECK(w.out.items[1].meta.get_int("file_index") == 1);

  const auto items = read_store(tmp.path() / "lumen");
  REQUIRE(items.size() == 5); // alpha 0-4, 4-6; beta 0-4, 4-8, 8-9
  CHECK(items[0].id() == "alpha/0000");
  CHECK(items[2].id() == "beta/0000");
  CHECK(items[2].meta.get_int("file_index") == 1);
  CHECK(same_pixels(concat({items[2], items[3], items[4]}), b));

  // A glob of stores, and the path of a .zarray.
  CHECK(read_store(tmp.path() / "lumen" / "movies" / "movie=alpha" / "*.zarr").size() == 2);
  CHECK(read_store(store_of(tmp.path(), "beta") / ".zarray").size() == 3);
  CHECK(ZarrRead::store_name("/x/y/cells.zarr") == "cells");
  CHECK(ZarrRead::store_name("/x/movie=a/data.zarr") == "a");
  CHECK(ZarrRead::store_name("/x/plain") == "plain");
}

TEST_CASE("the store path follows root, schema, table, key, value and field", "[zarr][movies]") {
  TempDir tmp("zarr-paths");
  const Array a = random_movie(DType::u8, Shape{3, 4, 5}, 1);
  const auto write = [&](const std::string& root, std::int64_t file_index, const std::string& value) {
    Writer w(tmp.path() / "outputs");
    w.stage.root.assign(text(root));
    w.stage.schema.assign(text("lab"));
    w.stage.table.assign(text("scans"));
    w.stage.key.assign(text("scan"));
    w.stage.value.assign(text(value));
    w.stage.field.assign(text("counts"));
    w.start();
    feed(w.stage, a, "s", file_index, {3}, w.out);
    w.stage.finish(w.out);
    return w.out.items;
  };
  auto items = write("", 4, "{stem}_{file_index}");
  REQUIRE(items.size() == 1);
  CHECK(items[0].meta.get_string("zarr_path") == "lab/scans/scan=s_4/counts.zarr");
  CHECK(lumen::zarr::is_store(tmp.path() / "outputs" / "lab" / "scans" / "scan=s_4" / "counts.zarr"));
  items = write("sub", 0, "x");
  CHECK(lumen::zarr::is_store(tmp.path() / "outputs" / "sub" / "lab" / "scans" / "scan=x" / "counts.zarr"));
  items = write((tmp.path() / "elsewhere").string(), 0, "y");
  CHECK(lumen::zarr::is_store(tmp.path() / "elsewhere" / "lab" / "scans" / "scan=y" / "counts.zarr"));
  CHECK(items[0].meta.get_string("zarr_path") ==
        (tmp.path() / "elsewhere" / "lab" / "scans" / "scan=y" / "counts.zarr").string());

  // Two movies of one run that would land on one store: the second fails, the first stays.
  Writer w(tmp.path() / "dup");
  w.stage.value.assign(text("same"));
  w.start();
  feed(w.stage, a, "one", 0, {3}, w.out);
  Item second = movie_item("two", 1, 0, a);
  CHECK_THAT(error_of([&] { w.stage.process(second, w.out); }),
             Catch::Contains("would replace the store") && Catch::Contains("{stem}_{file_index}"));
  w.stage.finish(w.out);
  REQUIRE(w.out.items.size() == 1);
  CHECK(StoreReader(store_of(tmp.path() / "dup", "same")).attrs_json().find("/data/one.npy") != std::string::npos);
}

TEST_CASE("a store is replaced whole and failures leave no temporary directory", "[zarr][atomic]") {
  TempDir tmp("zarr-atomic");
  const fs::path store = store_of(tmp.path(), "m");
  const Array first = random_movie(DType::u8, Shape{5, 6, 7}, 1), second = random_movie(DType::u8, Shape{3, 6, 7}, 2);
  for (const Array* m : {&first, &second}) {
    Writer w(tmp.path());
    w.stage.chunk_frames.assign(int_value(2));
    w.start();
    feed(w.stage, *m, "m", 0, {1}, w.out);
    w.stage.finish(w.out);
  }
  CHECK(same_pixels(StoreReader(store).read(0, 3, nullptr, 1), second));
  CHECK(!fs::exists(store / "2.0.0")); // the old store's chunks went with it
  CHECK(temp_entries(tmp.path()) == 0);

  SECTION("a dtype change fails the item and abandons the movie") {
    Writer w(tmp.path());
    w.start();
    Item ok = movie_item("n", 0, 0, random_movie(DType::u16, Shape{2, 6, 7}, 3));
    w.stage.process(ok, w.out);
    CHECK(temp_entries(tmp.path()) == 1); // being built
    Item bad = movie_item("n", 0, 2, random_movie(DType::f32, Shape{6, 7}, 3));
    CHECK_THAT(error_of([&] { w.stage.process(bad, w.out); }),
               Catch::Contains("item 'n/0002'") && Catch::Contains("f32") && Catch::Contains("started with u16"));
    CHECK(temp_entries(tmp.path()) == 0);
    Item later = movie_item("n", 0, 2, random_movie(DType::u16, Shape{6, 7}, 3));
    CHECK_THAT(error_of([&] { w.stage.process(later, w.out); }), Catch::Contains("abandoned at frame 2"));
    w.stage.finish(w.out);
    CHECK(w.out.items.empty());
    CHECK(!fs::exists(store_of(tmp.path(), "n")));
    CHECK(temp_entries(tmp.path()) == 0);
    CHECK(!w.ctx.logged.empty());
  }
  SECTION("a shape change, a gap, a repeat, a wrong first frame") {
    const auto fails = [&](std::int64_t index0, const Shape& s1, std::int64_t index1, const char* expect) {
      Writer w(tmp.path());
      w.start();
      Item a = movie_item("g", 0, index0, random_movie(DType::u16, Shape{2, 6, 7}, 3));
      std::string first_error = error_of([&] { w.stage.process(a, w.out); });
      if (index0 != 0) {
        CHECK_THAT(first_error, Catch::Contains(expect));
        return;
      }
      Item b = movie_item("g", 0, index1, random_movie(DType::u16, s1, 3));
      CHECK_THAT(error_of([&] { w.stage.process(b, w.out); }), Catch::Contains(expect));
      w.stage.finish(w.out);
      CHECK(!fs::exists(store_of(tmp.path(), "g")));
      CHECK(temp_entries(tmp.path()) == 0);
    };
    fails(0, Shape{6, 8}, 2, "(6, 8)");
    fails(0, Shape{6, 7}, 5, "expected frame 2");
    fails(0, Shape{6, 7}, 1, "a repeated frame");
    fails(3, Shape{6, 7}, 5, "expected frame 0");
  }
  SECTION("an item without frames fails") {
    Writer w(tmp.path());
    w.start();
    Item a = movie_item("v", 0, 0, random_movie(DType::u16, Shape{7}, 3));
    CHECK_THAT(error_of([&] { w.stage.process(a, w.out); }), Catch::Contains("(H, W) frames or (n, H, W)"));
  }
  SECTION("a writer destroyed before commit removes its directory") {
    {
      StoreWriter w(tmp.path() / "x.zarr", DType::u8, 4, 4, {}, nullptr, "x");
      w.append(random_movie(DType::u8, Shape{150, 4, 4}, 1)); // one chunk written
      CHECK(temp_entries(tmp.path()) == 1);
    }
    CHECK(temp_entries(tmp.path()) == 0);
    CHECK(!fs::exists(tmp.path() / "x.zarr"));
  }
  SECTION("leftovers of a killed run are removed when the stage starts; live ones are kept") {
    const fs::path dir = store.parent_path();
    const fs::path dead = dir / ".data.zarr.4194999-3.lumen-tmp"; // above Linux's pid_max
    const fs::path live = dir / (".data.zarr." + std::to_string(::getppid()) + "-0.lumen-tmp");
    fs::create_directories(dead);
    fs::create_directories(live);
    lumen::test::write_bytes(dead / "0.0.0", {1, 2, 3});
    Writer w(tmp.path());
    w.start();
    CHECK(!fs::exists(dead));
    CHECK(fs::exists(live));
    fs::remove_all(live);
  }
  SECTION("an existing directory that is not a store is not replaced") {
    const fs::path other = store_of(tmp.path(), "keep");
    fs::create_directories(other);
    lumen::test::write_bytes(other / "notes.txt", {'h', 'i'});
    Writer w(tmp.path());
    w.start();
    Item a = movie_item("keep", 0, 0, random_movie(DType::u16, Shape{6, 7}, 3));
    CHECK_THAT(error_of([&] { w.stage.process(a, w.out); }), Catch::Contains("is not a Zarr store"));
    CHECK(fs::exists(other / "notes.txt"));
  }
}

TEST_CASE("corrupt and truncated chunks fail with the chunk name and never crash", "[zarr][corrupt]") {
  TempDir tmp("zarr-corrupt");
  const Array movie = random_movie(DType::u16, Shape{8, 16, 20}, 9);
  for (Compressor c : {Compressor::blosc, Compressor::none}) {
    lumen::zarr::WriteOptions o;
    o.chunk_frames = 4;
    o.compressor = c;
    const fs::path store = tmp.path() / (c == Compressor::none ? "raw.zarr" : "blosc.zarr");
    StoreWriter w(store, DType::u16, 16, 20, o, nullptr, "t");
    w.append(movie);
    (void)w.commit("");
    const fs::path chunk = store / "1.0.0";
    const auto good = lumen::test::read_bytes(chunk);
    const StoreReader r(store);
    INFO((c == Compressor::none ? "raw" : "blosc"));

    // Truncations always fail and name the chunk.
    for (std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{16}, good.size() / 2, good.size() - 1}) {
      lumen::test::write_bytes(chunk, {good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep)});
      const std::string e = error_of([&] { (void)r.read(4, 8, nullptr, 1); });
      INFO("kept " << keep << " bytes: " << e);
      CHECK_THAT(e, Catch::Contains(chunk.string()));
    }
    if (c == Compressor::blosc) {
      // The header's uncompressed size (bytes 4-7) made smaller: named as the brief asks.
      auto bad = good;
      bad[5] ^= 0x20;
      lumen::test::write_bytes(chunk, bad);
      CHECK_THAT(error_of([&] { (void)r.read(4, 8, nullptr, 1); }),
                 Catch::Contains(chunk.string() + ": blosc header declares") &&
                     Catch::Contains("but the chunk should hold 2560"));
      // Every single-byte flip: an error naming the chunk, or data (Blosc has no checksum).
      for (std::size_t i = 0; i < good.size(); i += std::max<std::size_t>(1, good.size() / 300)) {
        for (unsigned char mask : {0x01, 0x80, 0xff}) {
          bad = good;
          bad[i] ^= mask;
          lumen::test::write_bytes(chunk, bad);
          try {
            (void)r.read(4, 8, nullptr, 1);
          } catch (const lumen::InputError& e) {
            CHECK_THAT(e.what(), Catch::Contains(chunk.string()));
          }
        }
      }
    }
    lumen::test::write_bytes(chunk, good);
    CHECK(same_pixels(r.read(0, 8, nullptr, 1), movie));
    // A missing chunk file reads as fill_value (0).
    fs::remove(chunk);
    const Array holes = r.read(0, 8, nullptr, 1);
    CHECK(same_pixels(holes.slice(0, 4).contiguous_copy(), movie.slice(0, 4).contiguous_copy()));
    for (auto v : holes.slice(4, 8).contiguous_copy().view<std::uint16_t>()) REQUIRE(v == 0);
  }
  // Through the stage: the item fails, naming the chunk.
  lumen::test::write_bytes(tmp.path() / "blosc.zarr" / "0.0.0", {1, 2, 3});
  CHECK_THAT(error_of([&] { (void)read_store(tmp.path() / "blosc.zarr"); }),
             Catch::Contains("blosc.zarr/0.0.0") && Catch::Contains("truncated"));
}

TEST_CASE("bad .zarray documents fail naming the key at fault", "[zarr][zarray]") {
  const std::string good = R"({"zarr_format": 2, "shape": [10, 4, 5], "chunks": [5, 4, 5], "dtype": "<u2",
    "compressor": null, "fill_value": 0, "order": "C", "filters": null})";
  CHECK(lumen::zarr::parse_zarray(good, "s/.zarray").separator == '.');
  const auto fails = [](const std::string& doc, const std::string& expect) {
    const std::string e = error_of([&] { (void)lumen::zarr::parse_zarray(doc, "s/.zarray"); });
    INFO(doc);
    CHECK_THAT(e, Catch::StartsWith("s/.zarray") && Catch::Contains(expect));
  };
  const auto with = [&good](const std::string& key, const std::string& value) {
    auto j = nlohmann::json::parse(good);
    if (value.empty())
      j.erase(key);
    else
      j[key] = nlohmann::json::parse(value);
    return j.dump();
  };
  fails("{\"zarr_format\": 2, ", "not valid JSON");
  fails("[]", "JSON object");
  fails(with("zarr_format", "3"), "'zarr_format'");
  fails(with("zarr_format", ""), "'zarr_format' is missing");
  fails(with("shape", ""), "'shape' is missing");
  fails(with("shape", "[10, -4, 5]"), "'shape'");
  fails(with("shape", "[1, 2, 3, 4, 5]"), "'shape'");
  fails(with("chunks", "[5, 0, 5]"), "'chunks'");
  fails(with("chunks", "[5, 4]"), "'chunks'");
  fails(with("chunks", "[100000, 100000, 100000]"), "'chunks'");
  fails(with("dtype", "\"<i8\""), "'dtype' is \"<i8\"");
  fails(with("dtype", "\"<c8\""), "'dtype'");
  fails(with("dtype", "[[\"a\", \"<u2\"]]"), "'dtype'");
  fails(with("compressor", "{\"id\": \"gzip\", \"level\": 1}"), "codec \"gzip\"");
  fails(with("compressor", "7"), "'compressor'");
  fails(with("compressor", ""), "'compressor' is missing");
  fails(with("order", "\"F\""), "'order' is \"F\"");
  fails(with("filters", "[{\"id\": \"delta\", \"dtype\": \"<u2\"}]"), "'filters' lists \"delta\"");
  fails(with("fill_value", "\"x\""), "'fill_value'");
  fails(with("fill_value", "-1"), "'fill_value' is -1");
  fails(with("fill_value", "1.5"), "'fill_value'");
  fails(with("fill_value", "70000"), "'fill_value'");
  CHECK(lumen::zarr::parse_zarray(with("fill_value", "65535"), "s").fill_value == 65535);
  fails(with("dimension_separator", "\"-\""), "'dimension_separator'");

  TempDir tmp("zarr-zarray");
  const fs::path store = tmp.path() / "s.zarr";
  fs::create_directories(store);
  CHECK_THAT(error_of([&] { StoreReader r(store); }), Catch::Contains("no .zarray"));
  lumen::test::write_bytes(store / "zarr.json", {'{', '}'});
  CHECK_THAT(error_of([&] { StoreReader r(store); }), Catch::Contains("zarr.json: key 'zarr_format' is missing"));
  const std::string garbled = "{\"zarr_format\": 2, \"shape\": [4], \"chunks\": [2], \"dtype\": \"<u2\", \"compr";
  lumen::test::write_bytes(store / ".zarray", {garbled.begin(), garbled.end()});
  // The stage plans the store and its item fails with the reason.
  CHECK_THAT(error_of([&] { (void)read_store(store); }),
             Catch::Contains((store / ".zarray").string()) && Catch::Contains("not valid JSON"));
}

TEST_CASE("metadata values of an unexpected JSON type are InputErrors naming the file (fuzz regression)",
          "[zarr][errors]") {
  // Found by fuzz_zarr: a chunk grid whose "name" is a number made nlohmann throw its own type_error.
  const std::string v3 = R"({"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "uint8",
    "chunk_grid": {"name": 7, "configuration": {"chunk_shape": [2]}}, "codecs": [], "fill_value": 0})";
  CHECK_THROWS_WITH(lumen::zarr::parse_zarr_json(v3, "t/zarr.json", nullptr), Catch::Contains("t/zarr.json"));
  const std::string v2 = R"({"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|u1",
    "compressor": {"id": 5}, "fill_value": 0, "order": "C", "filters": null})";
  CHECK_THROWS_WITH(lumen::zarr::parse_zarray(v2, "t/.zarray"), Catch::Contains("t/.zarray"));
}

TEST_CASE("Zarr v3 zarr.json: the spec's forms are read, anything else names the key", "[zarr][v3]") {
  // Shaped like the examples of the Zarr v3 core specification (and what zarrita writes).
  const std::string good = R"({"zarr_format": 3, "node_type": "array", "shape": [10000, 1000],
    "dimension_names": ["rows", "columns"], "data_type": "float64",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1000, 100]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "codecs": [{"name": "bytes", "configuration": {"endian": "big"}},
               {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 1, "shuffle": "shuffle", "typesize": 8,
                                                   "blocksize": 0}}],
    "fill_value": "NaN", "attributes": {"foo": 42, "bar": "apples", "baz": [1, 2, 3, 4]}})";
  std::string attrs;
  const auto m = lumen::zarr::parse_zarr_json(good, "s/zarr.json", &attrs);
  CHECK(m.zarr_format == 3);
  CHECK(m.dtype == DType::f64);
  CHECK(m.big_endian);
  CHECK(m.chunks == std::vector<std::int64_t>{1000, 100});
  CHECK(m.compressor == Compressor::blosc);
  CHECK(m.blosc.cname == "lz4");
  CHECK(m.blosc.shuffle == 1);
  CHECK(std::isnan(m.fill_value));
  CHECK(m.chunk_key({3, 7}) == "c/3/7");
  CHECK(nlohmann::json::parse(attrs)["baz"].size() == 4);

  const auto with = [&good](const std::string& key, const std::string& value) {
    auto j = nlohmann::json::parse(good);
    if (value.empty())
      j.erase(key);
    else
      j[key] = nlohmann::json::parse(value);
    return j.dump();
  };
  const auto parsed = [](const std::string& doc) { return lumen::zarr::parse_zarr_json(doc, "s/zarr.json", nullptr); };
  CHECK(parsed(with("chunk_key_encoding", R"({"name": "v2"})")).chunk_key({3, 7}) == "3.7");
  CHECK(parsed(with("chunk_key_encoding", R"({"name": "default", "configuration": {"separator": "."}})"))
            .chunk_key({3, 7}) == "c.3.7");
  CHECK(parsed(with("chunk_key_encoding", "")).chunk_key({3, 7}) == "c/3/7");
  CHECK(parsed(with("codecs", R"([{"name": "bytes"}])")).compressor == Compressor::none);
  CHECK(parsed(with("codecs", R"(["bytes", {"name": "zstd", "configuration": {"level": 0, "checksum": false}}])"))
            .compressor == Compressor::zstd);
  auto u8 = nlohmann::json::parse(good);
  u8["data_type"] = "uint8";
  u8["fill_value"] = 7;
  CHECK(parsed(u8.dump()).dtype == DType::u8);
  CHECK(parsed(u8.dump()).fill_value == 7);
  CHECK(!parsed(u8.dump()).big_endian); // one byte: no order

  const auto fails = [&](const std::string& doc, const std::string& expect) {
    INFO(doc);
    CHECK_THAT(error_of([&] { (void)parsed(doc); }), Catch::StartsWith("s/zarr.json") && Catch::Contains(expect));
  };
  fails(with("zarr_format", "2"), "'zarr_format'");
  fails(with("node_type", R"("group")"), "'node_type'");
  fails(with("data_type", R"("int64")"), "'data_type' is \"int64\"");
  fails(with("data_type", R"("complex64")"), "'data_type'");
  fails(with("chunk_grid", R"({"name": "rectilinear"})"), "'chunk_grid'");
  fails(with("chunk_grid", R"({"name": "regular", "configuration": {"chunk_shape": [10]}})"), "'chunk_grid'");
  fails(with("chunk_key_encoding", R"({"name": "fancy"})"), "'chunk_key_encoding'");
  fails(with("fill_value", R"("0x7fc00000")"), "'fill_value'");
  fails(with("fill_value", ""), "'fill_value' is missing");
  fails(with("codecs", R"([{"name": "transpose", "configuration": {"order": [1, 0]}}, {"name": "bytes"}])"),
        "\"transpose\"");
  fails(with("codecs", R"([{"name": "sharding_indexed", "configuration": {}}])"), "sharded");
  fails(with("codecs", R"([{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}])"), "\"gzip\"");
  fails(with("codecs", R"([{"name": "bytes"}, {"name": "zstd"}, {"name": "crc32c"}])"), "\"crc32c\"");
  fails(with("codecs", "[]"), "'codecs'");
  fails(with("storage_transformers", R"([{"name": "x"}])"), "'storage_transformers'");

  // A v3 group is not a store; its arrays are found below it.
  TempDir tmp("zarr-v3");
  fs::create_directories(tmp.path() / "g");
  const std::string group = R"({"zarr_format": 3, "node_type": "group", "attributes": {}})";
  lumen::test::write_bytes(tmp.path() / "g" / "zarr.json", {group.begin(), group.end()});
  CHECK(!lumen::zarr::is_store(tmp.path() / "g"));
  lumen::zarr::WriteOptions o;
  o.zarr_format = 3;
  o.chunk_frames = 2;
  o.compressor = Compressor::none;
  const Array movie = random_movie(DType::i32, Shape{5, 3, 4}, 2);
  {
    StoreWriter w(tmp.path() / "g" / "movie", DType::i32, 3, 4, o, nullptr, "v3");
    w.append(movie);
    (void)w.commit(R"({"gain": 2})");
  }
  const auto items = read_store(tmp.path() / "g");
  REQUIRE(items.size() == 3);
  CHECK(items[0].id() == "movie/0000");
  CHECK(items[0].meta.get_int("gain") == 2);
  CHECK(same_pixels(concat(items), movie));
  CHECK(fs::exists(tmp.path() / "g" / "movie" / "c" / "2" / "0" / "0"));
}

TEST_CASE("path, frames and store parameters are checked with the parameter named", "[zarr][params]") {
  TempDir tmp("zarr-params");
  const auto config_error = [](ZarrWrite& w) -> std::string {
    try {
      w.validate();
    } catch (const lumen::ConfigError& e) {
      return e.param() + ": " + e.what();
    }
    return "(no ConfigError)";
  };
  struct Bad {
    const char* param;
    std::string value;
  };
  for (const Bad& b : {Bad{"key", "mo=vie"}, Bad{"key", ""}, Bad{"schema", "a/b"}, Bad{"table", ".."}, Bad{"field", ""},
                       Bad{"value", "x/{stem}"}, Bad{"value", "{stem"}, Bad{"value", ""}}) {
    ZarrWrite w;
    for (auto* p : w.params())
      if (p->spec().name == b.param) p->assign(text(b.value));
    INFO(b.param << " = \"" << b.value << "\"");
    CHECK_THAT(config_error(w), Catch::StartsWith(std::string(b.param) + ":"));
  }
  ZarrWrite ok;
  CHECK(config_error(ok) == "(no ConfigError)");
  // Ranges are part of each parameter's spec, which the host checks before validate().
  CHECK_THAT(ok.clevel.spec().check(int_value(10)), Catch::Contains("9"));
  CHECK(ok.clevel.spec().check(int_value(9)).empty());
  CHECK(!ok.chunk_frames.spec().check(int_value(0)).empty());
  CHECK(!ok.cname.spec().check(text("gzip")).empty());
  CHECK(!ok.shuffle.spec().check(text("bits")).empty());
  CHECK(!ok.compressor.spec().check(text("zstd")).empty());

  // The reader: an empty range, a range beyond the store (at plan time), paths that are no stores.
  ZarrRead r;
  r.path.assign(text("x.zarr"));
  r.frames.assign(ParamValue{std::vector<std::int64_t>{5, 2}});
  try {
    r.validate();
    FAIL("no ConfigError");
  } catch (const lumen::ConfigError& e) {
    CHECK(e.param() == "frames");
  }
  lumen::zarr::WriteOptions o;
  o.chunk_frames = 4;
  {
    StoreWriter w(tmp.path() / "m.zarr", DType::u8, 3, 3, o, nullptr, "m");
    w.append(random_movie(DType::u8, Shape{10, 3, 3}, 1));
    (void)w.commit("");
  }
  CHECK_THAT(error_of([&] {
               (void)read_store(tmp.path() / "m.zarr", 0, {4, 12});
             }),
             Catch::Contains("frames [4, 12)") && Catch::Contains("m.zarr") && Catch::Contains("holds 10 frames"));
  CHECK(read_store(tmp.path() / "m.zarr", 0, {4, 10}).size() == 2);
  lumen::test::write_bytes(tmp.path() / "file.npy", {1});
  fs::create_directories(tmp.path() / "empty");
  CHECK_THAT(error_of([&] { (void)read_store(tmp.path() / "file.npy"); }), Catch::Contains("not a Zarr store"));
  CHECK_THAT(error_of([&] { (void)read_store(tmp.path() / "empty"); }), Catch::Contains("holds no Zarr store"));
  CHECK_THAT(error_of([&] { (void)read_store(tmp.path() / "nothing"); }), Catch::Contains("no such file"));
  CHECK_THAT(error_of([&] { (void)read_store(tmp.path() / "*.zorro"); }), Catch::Contains("no Zarr store"));
}

TEST_CASE("zarr-python opens Lumen's stores with the same values and attributes", "[zarr][interop]") {
  if (!have_zarr_python()) {
    WARN("SKIPPED: /usr/bin/python3 cannot import zarr, numcodecs and numpy (Debian python3-zarr)");
    return;
  }
  TempDir tmp("zarr-py-read");
  for (DType dt : kAllDtypes) {
    const Array movie = random_movie(dt, Shape{11, 13, 17}, 3);
    Writer w(tmp.path());
    w.stage.value.assign(text(std::string(lumen::dtype_name(dt))));
    w.stage.chunk_frames.assign(int_value(4));
    w.stage.chunk_rows.assign(int_value(8));
    w.stage.threads.assign(int_value(2));
    if (dt == DType::i16) w.stage.compressor.assign(text("none"));
    if (dt == DType::u32) w.stage.cname.assign(text("lz4"));
    if (dt == DType::i32) w.stage.shuffle.assign(text("byte"));
    w.start();
    Item first = movie_item("m", 0, 0, movie.slice(0, 3));
    first.meta.set("photon_gain", lumen::MetaValue{1.75});
    first.meta.set("label", "cells");
    w.stage.process(first, w.out);
    Item rest = movie_item("m", 0, 3, movie.slice(3, 11));
    w.stage.process(rest, w.out);
    w.stage.finish(w.out);
    const fs::path raw = tmp.path() / (std::string(lumen::dtype_name(dt)) + ".bin");
    const auto* p = static_cast<const unsigned char*>(movie.raw());
    lumen::test::write_bytes(raw, {p, p + movie.nbytes()});
  }
  const std::string script = R"(import sys, json, numpy as np, zarr
root = sys.argv[1]
for name, dt in [('u8', 'u1'), ('u16', '<u2'), ('i16', '<i2'), ('u32', '<u4'), ('i32', '<i4'), ('f32', '<f4'), ('f64', '<f8')]:
    a = zarr.open(root + '/lumen/movies/movie=' + name + '/data.zarr', mode='r')
    want = np.fromfile(root + '/' + name + '.bin', dtype=dt).reshape(11, 13, 17)
    assert a.shape == (11, 13, 17) and a.chunks == (4, 8, 17), (name, a.shape, a.chunks)
    assert a.dtype == np.dtype(dt), (name, a.dtype)
    assert np.array_equal(a[:], want), name
    assert np.array_equal(a[5:7, 3:11, 2], want[5:7, 3:11, 2]), name
    assert a.attrs['photon_gain'] == 1.75 and a.attrs['label'] == 'cells', dict(a.attrs)
    assert a.attrs['lumen']['frames'] == 11 and 'index' not in a.attrs, dict(a.attrs)
    print(name, 'ok', a.compressor)
print('all same')
)";
  const std::string out = run_python(tmp.path() / "check.py", script, tmp.path().string());
  INFO(out);
  CHECK_THAT(out, Catch::Contains("all same"));
}

TEST_CASE("Lumen reads stores written by zarr-python (blosc, zstd, null, '/', big-endian, holes)", "[zarr][interop]") {
  if (!have_zarr_python()) {
    WARN("SKIPPED: /usr/bin/python3 cannot import zarr, numcodecs and numpy (Debian python3-zarr)");
    return;
  }
  TempDir tmp("zarr-py-write");
  const std::string script = R"(import sys, numpy as np, zarr, numcodecs
root = sys.argv[1]
rng = np.random.default_rng(1)
def store(name, data, chunks, compressor, sep='.', fill=0, attrs=None):
    a = zarr.open(root + '/' + name + '.zarr', mode='w', shape=data.shape, chunks=chunks, dtype=data.dtype,
                  compressor=compressor, fill_value=fill, dimension_separator=sep)
    a[:] = data
    if attrs: a.attrs.update(attrs)
    data.astype(data.dtype.newbyteorder('<')).tofile(root + '/' + name + '.bin')
store('blosc_lz4', rng.integers(0, 4000, (13, 9, 11), dtype='u2'), (5, 4, 6),
      numcodecs.Blosc(cname='lz4', clevel=3, shuffle=numcodecs.Blosc.SHUFFLE), attrs={'gain': 2, 'name': 'x', 'list': [1, 2]})
store('blosc_zstd_slash', rng.normal(size=(7, 8, 9)).astype('<f4'), (3, 8, 4),
      numcodecs.Blosc(cname='zstd', clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE), sep='/')
store('zstd', rng.integers(-30000, 30000, (10, 6, 5), dtype='i2'), (4, 6, 5), numcodecs.Zstd(level=3))
store('raw_be', rng.integers(-2**30, 2**30, (6, 5, 4)).astype('>i4'), (4, 5, 4), None)
store('blosc_f64_2d', rng.normal(size=(9, 14)), (4, 5), numcodecs.Blosc(cname='zlib', clevel=1))
store('u1_1d', rng.integers(0, 255, (50,), dtype='u1'), (16,), numcodecs.Blosc(cname='blosclz'))
h = zarr.open(root + '/holes.zarr', mode='w', shape=(8, 4, 4), chunks=(2, 4, 4), dtype='f8', fill_value=float('nan'),
              compressor=numcodecs.Blosc())
h[2:4] = 1.5
print('written')
)";
  const std::string out = run_python(tmp.path() / "write.py", script, tmp.path().string());
  INFO(out);
  REQUIRE_THAT(out, Catch::Contains("written"));
  struct Expect {
    const char* name;
    DType dtype;
    Shape shape;
  };
  for (const Expect& e :
       {Expect{"blosc_lz4", DType::u16, Shape{13, 9, 11}}, Expect{"blosc_zstd_slash", DType::f32, Shape{7, 8, 9}},
        Expect{"zstd", DType::i16, Shape{10, 6, 5}}, Expect{"raw_be", DType::i32, Shape{6, 5, 4}},
        Expect{"blosc_f64_2d", DType::f64, Shape{9, 14}}, Expect{"u1_1d", DType::u8, Shape{50}}}) {
    INFO(e.name);
    const auto bytes = lumen::test::read_bytes(tmp.path() / (std::string(e.name) + ".bin"));
    Array want(e.dtype, e.shape);
    REQUIRE(bytes.size() == want.nbytes());
    std::memcpy(want.raw(), bytes.data(), bytes.size());
    const auto items = read_store(tmp.path() / (std::string(e.name) + ".zarr"), 0, {}, 2);
    CHECK(same_pixels(concat(items), want));
    const auto some = read_store(tmp.path() / (std::string(e.name) + ".zarr"), 3, {1, e.shape[0] - 1});
    const Array got = concat(some);
    CHECK(same_pixels(got, want.slice(1, e.shape[0] - 1).contiguous_copy()));
    if (std::string(e.name) == "blosc_lz4") {
      CHECK(items[0].meta.get_int("gain") == 2);
      CHECK(items[0].meta.get_string("name") == "x");
      CHECK(items[0].meta.get_list("list") == std::vector<double>{1, 2});
      CHECK(items[0].meta.get_list("zarr_shape") == std::vector<double>{13, 9, 11});
    }
  }
  const Array holes = StoreReader(tmp.path() / "holes.zarr").read(0, 8, nullptr, 1);
  const auto v = holes.view<double>();
  CHECK(std::isnan(v.data()[0]));
  CHECK(v.data()[2 * 16] == 1.5);
  CHECK(std::isnan(v.data()[7 * 16 + 15]));
}
