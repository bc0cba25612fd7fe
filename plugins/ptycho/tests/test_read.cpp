// Tests of the scan readers: the NDFileHDF5 XML layout parser (the shipped layouts, malformed XML
// with its line), ptycho.read_ad on small synthetic NDFileHDF5-like files written with the hdf5
// core's writers (explicit paths and units, a layout with NDAttribute names, packed (N, 3)
// positions, per-frame and scalar quantities, blocks in multiples of frames_per_pos, dark/flat/mask
// shared by every item), the errors (missing dataset, positions count != frames, a layout naming an
// NDAttribute the file lacks or placing none), the real APS 15-ID-D areaDetector file, and
// ptycho.read_cxi on the real PETRA III P25 CXI file (and a synthetic one with only a wavelength),
// through ptycho.write_std.
//
// Run: build/bin/test_ptycho "[read]"
#include "hdf5_io.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "ptycho_stages.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

using namespace lumen;
using namespace lumen::ptycho;
using lumen::test::error_of;
namespace fs = std::filesystem;

namespace {

template <typename S> void set(Param<S>& p, const S& v) {
  using Stored = std::conditional_t<std::is_same_v<S, int>, std::int64_t, S>;
  p.assign(ParamValue{Stored(v)});
}
void set(Param<std::string>& p, const char* v) {
  p.assign(ParamValue{std::string(v)});
}

constexpr std::int64_t kN = 10, kNy = 4, kNx = 3;

double frame_value(std::int64_t k, std::int64_t y, std::int64_t x) {
  return static_cast<double>(100 * k + 10 * y + x);
}
double px_um(std::int64_t k) {
  return 1.5 * static_cast<double>(k) - 3;
}
double py_um(std::int64_t k) {
  return -0.25 * static_cast<double>(k * k) + 2;
}

Array f64(const std::vector<double>& v, Shape shape) {
  Array a(DType::f64, shape);
  std::copy(v.begin(), v.end(), a.writable<double>().data());
  return a;
}

Array frames_u16(std::int64_t n) {
  Array image(DType::u16, Shape{n, kNy, kNx});
  auto v = image.writable<std::uint16_t>();
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t y = 0; y < kNy; ++y)
      for (std::int64_t x = 0; x < kNx; ++x) v.at(k, y, x) = static_cast<std::uint16_t>(frame_value(k, y, x));
  return image;
}

// A new file holding `data` at `data_path`; more datasets go in with an H5Editor.
void new_file(const fs::path& file, const std::string& data_path, const Array& data) {
  hdf5::WriteOptions o;
  o.dataset = data_path;
  hdf5::H5ChunkWriter w(file, data.dtype(), data.shape(), false, o, nullptr, "test file");
  w.append(data);
  w.close();
}

// An NDFileHDF5-like scan as written with layouts/minimal.xml: /entry/data/data u16 (N, 4, 3),
// /entry/scan/pos_x, pos_y (N,) in um, /entry/NDAttributes/Energy (N,) keV per frame, DetDistance
// () mm, PixelSize (1,) um, AcquireTime (N,) s, and a dark, flat and u32 mask in /entry/calib.
fs::path write_ad_scan(const fs::path& dir, std::int64_t n_pos = kN) {
  const fs::path file = dir / "scan_0042.h5";
  new_file(file, "entry/data/data", frames_u16(kN));
  hdf5::H5Editor e(file, "test file");
  std::vector<double> x, y, energy, expo;
  for (std::int64_t k = 0; k < n_pos; ++k) {
    x.push_back(px_um(k));
    y.push_back(py_um(k));
  }
  for (std::int64_t k = 0; k < kN; ++k) {
    energy.push_back(0.7 + 0.001 * static_cast<double>(k));
    expo.push_back(0.1 + 0.01 * static_cast<double>(k));
  }
  e.write_array("/entry/scan/pos_x", f64(x, Shape{n_pos}));
  e.write_array("/entry/scan/pos_y", f64(y, Shape{n_pos}));
  e.write_array("/entry/NDAttributes/Energy", f64(energy, Shape{kN}));
  e.write_scalar("/entry/NDAttributes/DetDistance", 250.0);
  e.write_array("/entry/NDAttributes/PixelSize", f64({11.0}, Shape{1}));
  e.write_array("/entry/NDAttributes/AcquireTime", f64(expo, Shape{kN}));
  std::vector<double> dark, flat;
  for (std::int64_t i = 0; i < kNy * kNx; ++i) {
    dark.push_back(0.5 * static_cast<double>(i));
    flat.push_back(1.0 + 0.1 * static_cast<double>(i));
  }
  e.write_array("/entry/calib/dark", f64(dark, Shape{kNy, kNx}));
  e.write_array("/entry/calib/flat", f64(flat, Shape{kNy, kNx}).as(DType::f32));
  Array mask(DType::u32, Shape{kNy, kNx});
  mask.writable<std::uint32_t>().at(1, 2) = 4;   // a CXI-style bit: non-zero = bad
  mask.writable<std::uint32_t>().at(3, 0) = 256; // would be 0 as a plain u8 cast
  e.write_array("/entry/calib/mask", mask);
  e.close();
  return file;
}

std::string layout_dir() {
  return PTYCHO_LAYOUT_DIR;
}

void use_minimal_layout(ReadAd& r, const fs::path& file) {
  set(r.path, file.string());
  set(r.layout, layout_dir() + "/minimal.xml");
  set(r.pos_x_path, "PosX");
  set(r.pos_y_path, "PosY");
  set(r.pos_unit, "um");
  set(r.energy_path, "Energy");
  set(r.energy_unit, "keV");
  set(r.det_dist_path, "DetDistance");
  set(r.dist_unit, "mm");
  set(r.pixel_path, "PixelSize");
  set(r.pixel_unit, "um");
  set(r.exposure_path, "AcquireTime");
  set(r.dark_path, "/entry/calib/dark");
  set(r.flat_path, "/entry/calib/flat");
  set(r.mask_path, "/entry/calib/mask");
}

// Every frame of every item against the file's content, the positions in metres and the per-frame
// arrays; returns the number of frames seen.
std::int64_t check_items(const std::vector<Item>& items) {
  std::int64_t next = 0;
  for (const Item& item : items) {
    const std::int64_t index = *item.meta.get_int("index");
    CHECK(index == next);
    const Array& image = item.array("image");
    REQUIRE(image.dtype() == DType::u16);
    REQUIRE(image.ndim() == 3);
    const std::int64_t n = image.dim(0);
    const auto v = image.view<std::uint16_t>();
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t y = 0; y < kNy; ++y)
        for (std::int64_t x = 0; x < kNx; ++x) CHECK(v.at(k, y, x) == frame_value(index + k, y, x));
    const Array& pos = item.array("pos");
    REQUIRE(pos.dtype() == DType::f64);
    REQUIRE(pos.dim(0) == n);
    REQUIRE(pos.dim(1) == 2);
    for (std::int64_t k = 0; k < n; ++k) {
      CHECK(pos.view<double>().at(k, 0) == Approx(px_um(index + k) * 1e-6).margin(1e-15));
      CHECK(pos.view<double>().at(k, 1) == Approx(py_um(index + k) * 1e-6).margin(1e-15));
    }
    CHECK(item.meta.get_int("scan_frames") == kN);
    CHECK(item.meta.get_int("file_index") == 0);
    next += n;
  }
  return next;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

} // namespace

// ---- the XML layouts ---------------------------------------------------------------------------

TEST_CASE("read: the shipped NDFileHDF5 layouts parse into paths", "[read][layout]") {
  const AdLayout minimal = parse_ad_layout(layout_dir() + "/minimal.xml");
  CHECK(minimal.detector_path() == "/entry/data/data");
  CHECK(minimal.ndattribute_path("PosX") == "/entry/scan/pos_x");
  CHECK(minimal.ndattribute_path("PosY") == "/entry/scan/pos_y");
  CHECK(minimal.ndattribute_path("Energy") == "/entry/NDAttributes/Energy"); // the ndattr_default group
  CHECK(minimal.ndattributes() == std::vector<std::string>{"PosX", "PosY"});

  const AdLayout cxi = parse_ad_layout(layout_dir() + "/cxi_like.xml");
  CHECK(cxi.detector_path() == "/entry_1/instrument_1/detector_1/data");
  CHECK(cxi.ndattribute_path("DetDistance") == "/entry_1/instrument_1/detector_1/distance");
  CHECK(cxi.ndattribute_path("PosX") == "/entry_1/sample_1/geometry_1/translation_x");
  CHECK(cxi.ndattribute_path("Energy") == "/entry_1/instrument_1/source_1/energy");
  REQUIRE(cxi.hardlinks.size() == 1);
  CHECK(cxi.hardlinks[0].first == "/entry_1/data_1/data");
  CHECK(cxi.hardlinks[0].second == "/entry_1/instrument_1/detector_1/data");
  for (const auto& d : cxi.datasets)
    if (d.ndattribute == "DetDistance") CHECK(d.when == "OnFileClose");
}

TEST_CASE("read: ADCore's own layout forms (root <xml>, det_default among several detector datasets)",
          "[read][layout]") {
  const AdLayout l = parse_ad_layout_text(R"(<xml>
  <global name="detector_data_destination" ndattribute="DataDestination"></global>
  <group name="entry">
    <group name="detector">
      <dataset name="data1" source="detector"/>
      <dataset name="data2" source="detector" det_default="true"/>
    </group>
    <group name="attributes">
      <dataset name="ArrayCounter" source="ndattribute" ndattribute="ArrayCounter"/>
      <dataset name="v" source="constant" value="1.5" type="float"/>
    </group>
  </group>
</xml>)",
                                          "demo.xml");
  CHECK(l.detector_path() == "/entry/detector/data2");
  CHECK(l.ndattribute_path("ArrayCounter") == "/entry/attributes/ArrayCounter");
  CHECK_FALSE(l.ndattribute_path("PosX").has_value()); // no ndattr_default group
}

TEST_CASE("read: a layout that does not parse fails with its line", "[read][layout][errors]") {
  // Line 4 closes <group> with </dataset>.
  const std::string bad = "<hdf5_layout>\n  <group name=\"entry\">\n    <dataset name=\"data\" source=\"detector\">\n"
                          "  </group>\n</hdf5_layout>\n";
  const std::string msg = error_of([&] { (void)parse_ad_layout_text(bad, "bad.xml"); });
  INFO(msg);
  CHECK(msg.find("bad.xml:4:") == 0);
  CHECK(msg.find("not a valid XML layout") != std::string::npos);

  const std::string no_source =
      "<hdf5_layout>\n  <group name=\"entry\">\n\n    <dataset name=\"data\"/>\n  </group>\n</hdf5_layout>\n";
  const std::string m2 = error_of([&] { (void)parse_ad_layout_text(no_source, "ns.xml"); });
  INFO(m2);
  CHECK(m2.find("ns.xml:4:") == 0);
  CHECK(m2.find("source=") != std::string::npos);

  const std::string bad_source = "<hdf5_layout><group name=\"e\">\n<dataset name=\"d\" source=\"camera\"/>"
                                 "</group></hdf5_layout>";
  CHECK(error_of([&] { (void)parse_ad_layout_text(bad_source, "bs.xml"); }).find("bs.xml:2:") == 0);

  CHECK(error_of([] { (void)parse_ad_layout_text("", "empty.xml"); }).find("empty.xml:") == 0);
  CHECK(error_of([] { (void)parse_ad_layout_text("<hdf5_layout/>", "bare.xml"); }).find("declares no <dataset>") !=
        std::string::npos);
  CHECK(error_of([] {
          (void)parse_ad_layout_text("<hdf5_layout><group name=\"a/b\"/></hdf5_layout>", "s.xml");
        }).find("contains '/'") != std::string::npos);
  // External entities are never loaded: a reference to one is an error, not a file read.
  const std::string xxe = error_of([] {
    (void)parse_ad_layout_text(
        "<!DOCTYPE l [<!ENTITY e SYSTEM \"file:///etc/hostname\">]>\n<hdf5_layout><group name=\"entry\">"
        "<dataset name=\"data\" source=\"detector\" ndattribute=\"&e;\"/></group></hdf5_layout>",
        "xxe.xml");
  });
  CHECK(xxe.find("xxe.xml:2:") == 0);
  CHECK(xxe.find("external entity") != std::string::npos);

  // Through the stage: validation fails naming the parameter `layout` and the line.
  lumen::test::TempDir tmp("ptycho_read");
  write_text(tmp.path() / "broken.xml", bad);
  ReadAd r;
  set(r.path, (tmp.path() / "x.h5").string());
  set(r.layout, (tmp.path() / "broken.xml").string());
  try {
    r.validate();
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.param() == "layout");
    CHECK(std::string(e.what()).find("broken.xml:4:") != std::string::npos);
  }
  set(r.layout, (tmp.path() / "missing.xml").string());
  CHECK_THROWS_AS(r.validate(), ConfigError);
}

// ---- ptycho.read_ad ----------------------------------------------------------------------------

TEST_CASE("read_ad: explicit paths and units, blocks in multiples of frames_per_pos", "[read][read_ad]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = write_ad_scan(tmp.path());
  testing::Context ctx(tmp.path());
  ReadAd r;
  set(r.path, file.string());
  set(r.pos_x_path, "/entry/scan/pos_x");
  set(r.pos_y_path, "entry/scan/pos_y"); // relative paths work too
  set(r.pos_unit, "um");
  set(r.energy_path, "/entry/NDAttributes/Energy");
  set(r.energy_unit, "keV");
  set(r.det_dist_path, "/entry/NDAttributes/DetDistance");
  set(r.dist_unit, "mm");
  set(r.pixel_path, "/entry/NDAttributes/PixelSize");
  set(r.pixel_unit, "um");
  set(r.exposure_path, "/entry/NDAttributes/AcquireTime");
  set(r.dark_path, "/entry/calib/dark");
  set(r.flat_path, "/entry/calib/flat");
  set(r.mask_path, "/entry/calib/mask");
  set(r.frames_per_item, std::int64_t{5});
  set(r.frames_per_pos, std::int64_t{2}); // 5 is rounded down to 4
  CHECK(r.block_frames() == 4);
  const auto items = testing::read_all(r, ctx);
  REQUIRE(items.size() == 3); // 4 + 4 + 2
  CHECK(items[0].array("image").dim(0) == 4);
  CHECK(items[2].array("image").dim(0) == 2);
  CHECK(items[1].id() == "scan_0042/0004");
  CHECK(check_items(items) == kN);
  for (const Item& item : items) {
    const std::int64_t index = *item.meta.get_int("index");
    CHECK(item.meta.get_number("det_dist_m") == Approx(0.25));
    CHECK(item.meta.get_number("pixel_m") == Approx(11e-6));
    CHECK_FALSE(item.meta.get_number("energy_eV").has_value()); // per frame: an array
    CHECK(item.meta.get_string("units") == "counts");
    const Array& e = item.array("energy_eV");
    const Array& t = item.array("exposure_s");
    REQUIRE(e.size() == item.array("image").dim(0));
    for (std::int64_t k = 0; k < e.size(); ++k) {
      CHECK(e.view<double>().data()[k] == Approx(1000 * (0.7 + 0.001 * static_cast<double>(index + k))));
      CHECK(t.view<double>().data()[k] == Approx(0.1 + 0.01 * static_cast<double>(index + k)));
    }
    REQUIRE(item.array("dark").dtype() == DType::f32);
    REQUIRE(item.array("flat").dtype() == DType::f32);
    CHECK(item.array("dark").view<float>().at(1, 1) == Approx(0.5 * 4));
    CHECK(item.array("flat").view<float>().at(3, 2) == Approx(1.0 + 0.1 * 11));
    const Array& mask = item.array("mask");
    REQUIRE(mask.dtype() == DType::u8);
    std::int64_t bad = 0;
    for (const auto m : mask.view<std::uint8_t>()) bad += m;
    CHECK(bad == 2);
    CHECK(mask.view<std::uint8_t>().at(1, 2) == 1);
    CHECK(mask.view<std::uint8_t>().at(3, 0) == 1);
    // One Array per scan, shared by every item: no copies.
    for (const char* name : {"dark", "flat", "mask"}) CHECK(item.array(name).raw() == items[0].array(name).raw());
  }
}

TEST_CASE("read_ad: a layout maps NDAttribute names to datasets", "[read][read_ad]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = write_ad_scan(tmp.path());
  testing::Context ctx(tmp.path());
  ReadAd r;
  use_minimal_layout(r, file);
  set(r.frames_per_item, std::int64_t{3});
  const auto items = testing::read_all(r, ctx);
  REQUIRE(items.size() == 4); // 3 + 3 + 3 + 1
  CHECK(check_items(items) == kN);
  CHECK(items[0].meta.get_string("data_path") == "/entry/data/data"); // the layout's detector dataset
  CHECK(items[0].meta.get_number("pixel_m") == Approx(11e-6));
  CHECK(items[3].array("energy_eV").view<double>().data()[0] == Approx(709.0));
}

TEST_CASE("read_ad: packed (N, 3) positions, scalar energy and exposure in meta", "[read][read_ad]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = tmp.path() / "packed.h5";
  new_file(file, "entry/instrument/detector/data", frames_u16(kN));
  {
    hdf5::H5Editor e(file, "test");
    std::vector<double> pos;
    for (std::int64_t k = 0; k < kN; ++k) {
      pos.push_back(px_um(k) * 1e-3); // mm
      pos.push_back(py_um(k) * 1e-3);
      pos.push_back(7.0); // z: ignored
    }
    e.write_array("/entry/instrument/NDAttributes/POS", f64(pos, Shape{kN, 3}).as(DType::f32));
    e.write_scalar("/entry/instrument/NDAttributes/Energy", 8.5);
    e.write_array("/entry/instrument/NDAttributes/Exposure", f64({20.0}, Shape{1}));
    e.close();
  }
  testing::Context ctx(tmp.path());
  ReadAd r;
  set(r.path, file.string());
  set(r.data_path, "/entry/instrument/detector/data");
  set(r.pos_path, "/entry/instrument/NDAttributes/POS");
  set(r.pos_unit, "mm");
  set(r.energy_path, "/entry/instrument/NDAttributes/Energy");
  set(r.energy_unit, "keV");
  set(r.exposure_path, "/entry/instrument/NDAttributes/Exposure");
  set(r.exposure_unit, "ms");
  set(r.units, "adu");
  const auto items = testing::read_all(r, ctx); // default frames_per_item 100: one block
  REQUIRE(items.size() == 1);
  const Array& pos = items[0].array("pos");
  REQUIRE(pos.dim(1) == 2);
  for (std::int64_t k = 0; k < kN; ++k) {
    CHECK(pos.view<double>().at(k, 0) == Approx(px_um(k) * 1e-6).epsilon(1e-6)); // stored as f32
    CHECK(pos.view<double>().at(k, 1) == Approx(py_um(k) * 1e-6).epsilon(1e-6));
  }
  CHECK(items[0].meta.get_number("energy_eV") == Approx(8500));
  CHECK(items[0].meta.get_number("exposure_s") == Approx(0.02));
  CHECK(items[0].meta.get_string("units") == "adu");
  CHECK_FALSE(items[0].has("energy_eV"));
  CHECK_FALSE(items[0].has("mask"));
}

TEST_CASE("read_ad: a long scan streams in blocks", "[read][read_ad]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = tmp.path() / "long.h5";
  constexpr std::int64_t n = 2000;
  Array frames(DType::u16, Shape{n, 2, 2});
  auto v = frames.writable<std::uint16_t>();
  for (std::int64_t k = 0; k < n; ++k) v.at(k, 0, 0) = static_cast<std::uint16_t>(k);
  new_file(file, "entry/data/data", frames);
  std::vector<double> x(n), y(n);
  for (std::int64_t k = 0; k < n; ++k) x[static_cast<std::size_t>(k)] = static_cast<double>(k);
  {
    hdf5::H5Editor e(file, "test");
    e.write_array("/entry/x", f64(x, Shape{n}));
    e.write_array("/entry/y", f64(y, Shape{n}));
    e.close();
  }
  testing::Context ctx(tmp.path());
  ReadAd r;
  set(r.path, file.string());
  set(r.pos_x_path, "/entry/x");
  set(r.pos_y_path, "/entry/y");
  set(r.pos_unit, "nm");
  set(r.frames_per_item, std::int64_t{128});
  set(r.frames_per_pos, std::int64_t{3}); // 126 frames a block
  r.validate();
  r.attach(ctx);
  r.start();
  const auto units = r.plan();
  REQUIRE(units.size() == 16); // 15 x 126 + 110
  std::int64_t next = 0;
  for (const auto& u : units) {
    testing::Collect out; // one block at a time: nothing else is held
    r.read(u, out);
    REQUIRE(out.items.size() == 1);
    const Item& item = out.items[0];
    const std::int64_t m = item.array("image").dim(0);
    CHECK(m == std::min<std::int64_t>(126, n - next));
    CHECK(item.array("image").view<std::uint16_t>().at(0, 0, 0) == next);
    CHECK(item.array("pos").view<double>().at(m - 1, 0) == Approx(static_cast<double>(next + m - 1) * 1e-9));
    next += m;
  }
  CHECK(next == n);
}

// ---- the errors --------------------------------------------------------------------------------

TEST_CASE("read_ad: a missing dataset names the file, the parameter and the path", "[read][read_ad][errors]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = write_ad_scan(tmp.path());
  testing::Context ctx(tmp.path());
  ReadAd r;
  set(r.path, file.string());
  set(r.pos_x_path, "/entry/scan/pos_x");
  set(r.pos_y_path, "/entry/scan/posy");
  const std::string msg = error_of([&] { (void)testing::read_all(r, ctx); });
  INFO(msg);
  CHECK(msg.find("pos_y_path") != std::string::npos);
  CHECK(msg.find(file.string()) != std::string::npos);
  CHECK(msg.find("no dataset '/entry/scan/posy'") != std::string::npos);
  CHECK(msg.find("pos_x (10)") != std::string::npos); // what the group holds

  ReadAd d;
  set(d.path, file.string());
  set(d.data_path, "/entry/data/frames");
  const std::string m2 = error_of([&] { (void)testing::read_all(d, ctx); });
  INFO(m2);
  CHECK(m2.find("data_path") != std::string::npos);
  CHECK(m2.find("no dataset '/entry/data/frames'") != std::string::npos);
}

TEST_CASE("read_ad: positions count != frames", "[read][read_ad][errors]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = write_ad_scan(tmp.path(), kN - 3);
  testing::Context ctx(tmp.path());
  ReadAd r;
  use_minimal_layout(r, file);
  const std::string msg = error_of([&] { (void)testing::read_all(r, ctx); });
  INFO(msg);
  CHECK(msg.find("positions count != frames") != std::string::npos);
  CHECK(msg.find("has 7 values") != std::string::npos);
  CHECK(msg.find("10 frames") != std::string::npos);
  CHECK(msg.find("NDAttribute 'PosX'") != std::string::npos);
}

TEST_CASE("read_ad: a layout naming an NDAttribute the file lacks", "[read][read_ad][errors]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = write_ad_scan(tmp.path());
  testing::Context ctx(tmp.path());
  // The layout places PosX at /entry/motors/x, which this file does not have.
  write_text(tmp.path() / "motors.xml", R"(<hdf5_layout>
  <group name="entry">
    <group name="data"><dataset name="data" source="detector" det_default="true"/></group>
    <group name="motors">
      <dataset name="x" source="ndattribute" ndattribute="PosX"/>
      <dataset name="y" source="ndattribute" ndattribute="PosY"/>
    </group>
  </group>
</hdf5_layout>
)");
  ReadAd r;
  set(r.path, file.string());
  set(r.layout, (tmp.path() / "motors.xml").string());
  set(r.pos_x_path, "PosX");
  set(r.pos_y_path, "PosY");
  const std::string msg = error_of([&] { (void)testing::read_all(r, ctx); });
  INFO(msg);
  CHECK(msg.find("NDAttribute 'PosX' of layout") != std::string::npos);
  CHECK(msg.find(file.string()) != std::string::npos);
  CHECK(msg.find("no dataset '/entry/motors/x'") != std::string::npos);

  // A name the layout places nowhere (and no ndattr_default group): validation, listing what it has.
  set(r.pos_x_path, "SampleX");
  try {
    r.validate();
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.param() == "pos_x_path");
    CHECK(std::string(e.what()).find("places no NDAttribute 'SampleX' (it places: PosX, PosY") != std::string::npos);
  }
}

TEST_CASE("read_ad: parameter combinations are checked before reading", "[read][read_ad][errors]") {
  ReadAd r;
  set(r.path, "/nonexistent/scan.h5");
  set(r.pos_path, "/entry/pos");
  set(r.pos_x_path, "/entry/x");
  CHECK_THROWS_AS(r.validate(), ConfigError);
  ReadAd q;
  set(q.path, "/nonexistent/scan.h5");
  set(q.pos_x_path, "/entry/x");
  try {
    q.validate();
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.param() == "pos_y_path");
  }
}

// ---- real files --------------------------------------------------------------------------------

TEST_CASE("read_ad: the real APS 15-ID-D areaDetector file", "[read][read_ad][real]") {
  LUMEN_SHARED_FILE(file, "hdf5/APS15IDD_areaDetector_Pilatus_AgBehenate_228.hdf5");
  lumen::test::TempDir tmp("ptycho_read");
  testing::Context ctx(tmp.path());
  const std::string md = "/entry/instrument/15ID-D metadata/";
  {
    // Explicit paths: /entry/data/data (one 195 x 487 Pilatus image) and NDAttribute datasets.
    ReadAd r;
    set(r.path, file.string());
    r.pos_x_path.assign(ParamValue{md + "sx"});
    r.pos_y_path.assign(ParamValue{md + "sy"});
    set(r.pos_unit, "mm");
    r.det_dist_path.assign(ParamValue{md + "SDD"});
    set(r.dist_unit, "mm");
    r.pixel_path.assign(ParamValue{md + "pin_ccd_pixel_size_x"});
    set(r.pixel_unit, "mm");
    r.energy_path.assign(ParamValue{md + "monoE"});
    set(r.energy_unit, "keV");
    r.exposure_path.assign(ParamValue{md + "PresetTime"});
    const auto items = testing::read_all(r, ctx);
    REQUIRE(items.size() == 1);
    const Item& item = items[0];
    const Array& image = item.array("image");
    CHECK(image.dtype() == DType::i32);
    CHECK(image.shape().str() == Shape{1, 195, 487}.str());
    hdf5::H5Reader h5(file);
    CHECK(lumen::test::same_pixels(image.reshape(Shape{195, 487}), h5.read("/entry/data/data")));
    CHECK(item.meta.get_int("scan_frames") == 1);
    CHECK(item.array("pos").view<double>().at(0, 0) == Approx(37.49947812e-3));
    CHECK(item.array("pos").view<double>().at(0, 1) == Approx(175e-3));
    CHECK(item.meta.get_number("det_dist_m") == Approx(0.5138));
    CHECK(item.meta.get_number("pixel_m") == Approx(172e-6));
    CHECK(item.meta.get_number("energy_eV") == Approx(16900.14329));
    CHECK(item.meta.get_number("exposure_s") == Approx(5.0));
  }
  {
    // The same through a layout that says where the NDAttributes go (as the NeXus template did).
    write_text(tmp.path() / "aps.xml", R"(<hdf5_layout>
  <group name="entry">
    <group name="data"><dataset name="data" source="detector" det_default="true"/></group>
    <group name="instrument">
      <group name="15ID-D metadata" ndattr_default="true">
        <dataset name="sx" source="ndattribute" ndattribute="SampleX"/>
        <dataset name="sy" source="ndattribute" ndattribute="SampleY"/>
      </group>
    </group>
  </group>
</hdf5_layout>
)");
    ReadAd r;
    set(r.path, file.string());
    set(r.layout, (tmp.path() / "aps.xml").string());
    set(r.pos_x_path, "SampleX");
    set(r.pos_y_path, "SampleY");
    set(r.pos_unit, "mm");
    set(r.det_dist_path, "SDD"); // through the ndattr_default group
    set(r.dist_unit, "mm");
    const auto items = testing::read_all(r, ctx);
    REQUIRE(items.size() == 1);
    CHECK(items[0].array("pos").view<double>().at(0, 1) == Approx(175e-3));
    CHECK(items[0].meta.get_number("det_dist_m") == Approx(0.5138));
  }
  {
    // No such position in the file: the error names the file and the path, and lists the group.
    ReadAd r;
    set(r.path, file.string());
    set(r.pos_x_path, "/entry/sample/x");
    set(r.pos_y_path, "/entry/sample/y");
    const std::string msg = error_of([&] { (void)testing::read_all(r, ctx); });
    INFO(msg);
    CHECK(msg.find("pos_x_path") != std::string::npos);
    CHECK(msg.find(file.string()) != std::string::npos);
    CHECK(msg.find("no dataset '/entry/sample/x'") != std::string::npos);
    CHECK(msg.find("aequatorial_angle") != std::string::npos);
  }
}

// ---- ptycho.read_cxi ---------------------------------------------------------------------------

TEST_CASE("read_cxi: the real PETRA III P25 file, blocks equal the whole", "[read][read_cxi][real]") {
  LUMEN_SHARED_FILE(file, "ptycho/PETRAIII_P25_Near_Field_Ptycho.cxi");
  lumen::test::TempDir tmp("ptycho_read");
  testing::Context ctx(tmp.path());
  ReadCxi r;
  set(r.path, file.string());
  set(r.frames_per_item, std::int64_t{64});
  const auto items = testing::read_all(r, ctx);
  REQUIRE(items.size() == 4); // 64 + 64 + 64 + 8

  hdf5::H5Reader h5(file);
  const Array whole = h5.read("entry_1/instrument_1/detector_1/data");
  const Array translation = h5.read("entry_1/sample_1/geometry_1/translation").as(DType::f64);
  const Array stored_mask = h5.read("entry_1/instrument_1/detector_1/mask");
  REQUIRE(whole.shape().str() == Shape{200, 100, 100}.str());
  REQUIRE(translation.shape().str() == Shape{200, 3}.str());
  std::int64_t next = 0, masked = 0;
  for (const auto m : stored_mask.view<std::uint32_t>()) masked += m != 0 ? 1 : 0;
  for (const Item& item : items) {
    const Array& image = item.array("image");
    const std::int64_t n = image.dim(0);
    CHECK(item.meta.get_int("index") == next);
    CHECK(image.dtype() == DType::i32);
    CHECK(lumen::test::same_pixels(image, whole.slice(next, next + n)));
    const Array& pos = item.array("pos");
    REQUIRE(pos.shape().str() == Shape{n, 2}.str());
    for (std::int64_t k = 0; k < n; ++k) {
      CHECK(pos.view<double>().at(k, 0) == translation.view<double>().at(next + k, 0));
      CHECK(pos.view<double>().at(k, 1) == translation.view<double>().at(next + k, 1));
    }
    CHECK(item.meta.get_int("scan_frames") == 200);
    CHECK(item.meta.get_number("det_dist_m") == Approx(1.12));
    CHECK(item.meta.get_number("pixel_m") == Approx(55e-6));
    // energy 2.028e-15 J; the wavelength 9.79e-11 m says the same (h c / lambda).
    CHECK(item.meta.get_number("energy_eV") == Approx(2.0280384918749993e-15 / kElectronVoltJ).epsilon(1e-6));
    CHECK(item.meta.get_number("energy_eV") == Approx(kHcEvM / 9.794912103622266e-11).epsilon(1e-5));
    const Array& mask = item.array("mask");
    REQUIRE(mask.dtype() == DType::u8);
    std::int64_t bad = 0;
    for (const auto m : mask.view<std::uint8_t>()) bad += m;
    CHECK(bad == masked);
    CHECK(mask.raw() == items[0].array("mask").raw());
    next += n;
  }
  CHECK(next == 200);

  // Through ptycho.write_std: the conventions are what the writer needs.
  WriteStd w;
  testing::Context wctx(tmp.path(), "out");
  w.attach(wctx);
  w.validate();
  w.start();
  testing::Collect sink;
  for (auto item : items) w.process(item, sink);
  w.finish(sink);
  REQUIRE(wctx.recorded.size() == 1);
  hdf5::H5Reader out(wctx.recorded[0].first);
  CHECK(out.dims("/entry/data") == std::vector<std::int64_t>{200, 100, 100});
  CHECK(out.read_numbers("/entry/det_dist_m")[0] == Approx(1.12));
}

TEST_CASE("read_cxi: energy from the wavelength, no mask, a dark by path", "[read][read_cxi]") {
  lumen::test::TempDir tmp("ptycho_read");
  const fs::path file = tmp.path() / "wl.cxi";
  new_file(file, "entry_1/instrument_1/detector_1/data", frames_u16(kN));
  {
    hdf5::H5Editor e(file, "test");
    std::vector<double> t;
    for (std::int64_t k = 0; k < kN; ++k) {
      t.push_back(px_um(k) * 1e-6);
      t.push_back(py_um(k) * 1e-6);
      t.push_back(0);
    }
    e.write_array("/entry_1/sample_1/geometry_1/translation", f64(t, Shape{kN, 3}));
    e.write_scalar("/entry_1/instrument_1/detector_1/distance", 2.5);
    e.write_scalar("/entry_1/instrument_1/detector_1/x_pixel_size", 75e-6);
    e.write_scalar("/entry_1/instrument_1/source_1/wavelength", 1e-9);
    e.write_array("/entry_1/instrument_1/detector_1/dark_frame", Array(DType::u16, Shape{kNy, kNx}));
    e.close();
  }
  testing::Context ctx(tmp.path());
  ReadCxi r;
  set(r.path, file.string());
  set(r.dark_path, "/entry_1/instrument_1/detector_1/dark_frame");
  const auto items = testing::read_all(r, ctx);
  REQUIRE(items.size() == 1);
  CHECK(check_items(items) == kN);
  CHECK(items[0].meta.get_number("energy_eV") == Approx(kHcEvM / 1e-9));
  CHECK(items[0].meta.get_number("det_dist_m") == Approx(2.5));
  CHECK_FALSE(items[0].has("mask"));
  CHECK(items[0].array("dark").dtype() == DType::f32);

  // Without distance: the error names the CXI path.
  const fs::path bare = tmp.path() / "bare.cxi";
  new_file(bare, "entry_1/instrument_1/detector_1/data", frames_u16(2));
  ReadCxi b;
  set(b.path, bare.string());
  const std::string msg = error_of([&] { (void)testing::read_all(b, ctx); });
  INFO(msg);
  CHECK(msg.find("no dataset '/entry_1/sample_1/geometry_1/translation'") != std::string::npos);
}
