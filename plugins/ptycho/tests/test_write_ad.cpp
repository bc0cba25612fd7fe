// Tests of ptycho.write_ad: a synth.ptycho_scan scene (the synth core's PtychoScene, in blocks as
// synth.ptycho_scan emits them) written as an areaDetector-like file and read back by
// ptycho.read_ad with layouts/minimal.xml: the same u16 frames, positions, per-frame and scan
// scalars, dark and flat; the NDFileHDF5 datasets where minimal.xml puts them, with their units and
// NDAttr* attributes; the same through layouts/cxi_like.xml (OnFileClose snapshots, the data_1
// link); the built-in layout equal to layouts/minimal.xml; and the failures (no positions, a
// truncated scan, an out-of-order block) leaving no file.
//
// Run: build/bin/test_ptycho "[write_ad]"
#include "hdf5_io.hpp"
#include "lumen/testing.hpp"
#include "lumen_test_files.hpp"
#include "ptycho_scan.hpp"
#include "ptycho_stages.hpp"
#include "write_ad.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
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

std::string layout_dir() {
  return PTYCHO_LAYOUT_DIR;
}

synth::PtychoScanSpec small_spec() {
  synth::PtychoScanSpec s;
  s.size = 32;
  s.positions = 9;
  s.frames_per_pos = 2;
  s.photons = 1e6;
  s.energy_eV = 706.8;
  s.det_dist_m = 0.325;
  s.pixel_m = 11e-6;
  s.exposure_s = 0.05;
  s.seed = 7;
  return s;
}

// The scan as synth.ptycho_scan emits it: blocks of `block` frames with the same arrays and meta.
std::vector<Item> synth_items(const synth::PtychoScene& scene, std::int64_t block) {
  const synth::PtychoScanSpec& s = scene.spec();
  std::vector<Item> items;
  for (std::int64_t b = 0; b < s.frames(); b += block) {
    synth::PtychoBlock r = synth::render_ptycho_frames(scene, b, std::min(s.frames(), b + block));
    Item item("ptycho_scan/" + std::to_string(b));
    item.set("image", std::move(r.frames));
    item.set("pos", std::move(r.pos));
    item.set("dark", scene.dark());
    item.set("flat", scene.flat());
    item.meta.set("units", "adu");
    item.meta.set("index", b);
    item.meta.set("file_index", std::int64_t{0});
    item.meta.set("scan_frames", s.frames());
    item.meta.set("energy_eV", MetaValue{s.energy_eV}, "", "eV");
    item.meta.set("det_dist_m", MetaValue{s.det_dist_m}, "", "m");
    item.meta.set("pixel_m", MetaValue{s.pixel_m}, "", "m");
    item.meta.set("exposure_s", MetaValue{s.exposure_s}, "", "s");
    items.push_back(std::move(item));
  }
  return items;
}

struct AdWriter {
  lumen::testing::Context ctx;
  WriteAd stage;
  lumen::testing::Collect out;
  explicit AdWriter(const fs::path& dir, const std::string& layout = "") : ctx(dir, "write") {
    set(stage.name, "scan.h5");
    set(stage.layout, layout);
  }
  void run(std::vector<Item> items) {
    stage.validate();
    stage.attach(ctx);
    stage.start();
    for (auto& item : items) stage.process(item, out);
    stage.finish(out);
  }
};

// ptycho.read_ad as ptycho-ingest.yaml configures it for write_ad's defaults.
std::vector<Item> read_back(const fs::path& file, const lumen::testing::Context& ctx, const std::string& layout,
                            std::int64_t frames_per_item = 4) {
  ReadAd r;
  set(r.path, file.string());
  set(r.layout, layout);
  set(r.pos_x_path, "PosX");
  set(r.pos_y_path, "PosY");
  set(r.pos_unit, "um");
  set(r.energy_path, "Energy");
  set(r.det_dist_path, "DetDistance");
  set(r.dist_unit, "mm");
  set(r.pixel_path, "PixelSize");
  set(r.pixel_unit, "um");
  set(r.exposure_path, "AcquireTime");
  set(r.dark_path, "/entry/calib/dark");
  set(r.flat_path, "/entry/calib/flat");
  set(r.frames_per_item, frames_per_item);
  set(r.frames_per_pos, std::int64_t{2});
  return lumen::testing::read_all(r, ctx);
}

bool same_values(const Array& a, const Array& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Array ca = a.contiguous_copy(), cb = b.contiguous_copy();
  return std::memcmp(ca.raw(), cb.raw(), ca.nbytes()) == 0;
}

// Every read item against the scene: frames bit for bit, positions to 1e-12 relative (m -> um ->
// m), scalars, dark and flat.
void check_round_trip(const synth::PtychoScene& scene, const std::vector<Item>& items) {
  const synth::PtychoScanSpec& s = scene.spec();
  std::int64_t next = 0;
  for (const Item& item : items) {
    const std::int64_t index = *item.meta.get_int("index");
    REQUIRE(index == next);
    const Array& image = item.array("image");
    REQUIRE(image.dtype() == DType::u16);
    const std::int64_t n = image.dim(0);
    const synth::PtychoBlock truth = synth::render_ptycho_frames(scene, index, index + n);
    CHECK(same_values(image, truth.frames));
    const auto pos = item.array("pos").view<double>();
    const auto want = truth.pos.view<double>();
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t c = 0; c < 2; ++c) CHECK(pos.at(k, c) == Approx(want.at(k, c)).epsilon(1e-12).margin(1e-20));
    // Energy and AcquireTime are (N,) in the file (one value per frame, as NDFileHDF5 writes
    // NDAttributes): per-frame arrays; DetDistance and PixelSize are constant: scan scalars.
    REQUIRE(item.has("energy_eV"));
    REQUIRE(item.has("exposure_s"));
    for (std::int64_t k = 0; k < n; ++k) {
      CHECK(item.array("energy_eV").view<double>().data()[k] == Approx(s.energy_eV).epsilon(1e-14));
      CHECK(item.array("exposure_s").view<double>().data()[k] == Approx(s.exposure_s).epsilon(1e-14));
    }
    CHECK(*item.meta.get_number("det_dist_m") == Approx(s.det_dist_m).epsilon(1e-14));
    CHECK(*item.meta.get_number("pixel_m") == Approx(s.pixel_m).epsilon(1e-14));
    CHECK(item.meta.get_int("scan_frames") == s.frames());
    CHECK(same_values(item.array("dark"), scene.dark()));
    CHECK(same_values(item.array("flat"), scene.flat()));
    next += n;
  }
  CHECK(next == s.frames());
}

} // namespace

TEST_CASE("write_ad: the built-in layout is layouts/minimal.xml", "[write_ad]") {
  const AdLayout built_in = minimal_ad_layout();
  const AdLayout file = parse_ad_layout(layout_dir() + "/minimal.xml");
  CHECK(built_in.detector_path() == file.detector_path());
  CHECK(built_in.ndattr_default_groups == file.ndattr_default_groups);
  REQUIRE(built_in.datasets.size() == file.datasets.size());
  for (std::size_t i = 0; i < file.datasets.size(); ++i) {
    CHECK(built_in.datasets[i].path == file.datasets[i].path);
    CHECK(built_in.datasets[i].source == file.datasets[i].source);
    CHECK(built_in.datasets[i].ndattribute == file.datasets[i].ndattribute);
    CHECK(built_in.datasets[i].when == file.datasets[i].when);
  }
}

TEST_CASE("write_ad: synth scan -> write_ad -> read_ad (minimal layout) gives back frames, positions, scalars",
          "[write_ad]") {
  lumen::test::TempDir tmp("ptycho_write_ad");
  const synth::PtychoScene scene(small_spec());
  AdWriter w(tmp.path());
  w.run(synth_items(scene, 6)); // 18 frames in blocks of 6
  const fs::path file = tmp.path() / "scan.h5";
  REQUIRE(fs::exists(file));
  REQUIRE(w.ctx.recorded.size() == 1);
  CHECK(w.ctx.recorded[0].first == file);

  // The file as NDFileHDF5 lays it out with minimal.xml.
  {
    hdf5::H5Reader r(file);
    const auto data = r.info("/entry/data/data");
    CHECK(data.dims == std::vector<std::int64_t>{18, 32, 32});
    CHECK(data.dtype == DType::u16);
    CHECK(r.dims("/entry/scan/pos_x") == std::vector<std::int64_t>{18});
    CHECK(r.dims("/entry/scan/pos_y") == std::vector<std::int64_t>{18});
    for (const char* a : {"Energy", "DetDistance", "PixelSize", "AcquireTime", "NDArrayUniqueId"})
      CHECK(r.dims(std::string("/entry/NDAttributes/") + a) == std::vector<std::int64_t>{18});
    const auto x = r.read_numbers("/entry/scan/pos_x");
    CHECK(x[3] == Approx(scene.positions()[2 * 1] * 1e6).epsilon(1e-12));         // frame 3 = position 1, in um
    CHECK(r.read_numbers("/entry/NDAttributes/DetDistance")[0] == Approx(325.0)); // mm
    CHECK(r.read_numbers("/entry/NDAttributes/PixelSize")[0] == Approx(11.0));    // um
    CHECK(r.read_numbers("/entry/NDAttributes/Energy")[17] == Approx(706.8));     // eV
    CHECK(r.read_numbers("/entry/NDAttributes/NDArrayUniqueId")[17] == 18);
    Meta m;
    r.read_attributes("/entry/scan/pos_x", m);
    CHECK(m.get_string("NDAttrDescription") == "sample x position (um)");
    CHECK(m.get_string("NDAttrName") == "PosX");
    CHECK(r.dims("/entry/calib/dark") == std::vector<std::int64_t>{32, 32});
    CHECK(r.dims("/entry/calib/flat") == std::vector<std::int64_t>{32, 32});
    CHECK_FALSE(r.has_dataset("/entry/calib/mask")); // the synthetic scan has none
  }

  lumen::testing::Context rctx(tmp.path() / "read");
  check_round_trip(scene, read_back(file, rctx, layout_dir() + "/minimal.xml"));
}

TEST_CASE("write_ad: the CXI-like layout places NDAttributes in entry_1, one value for OnFileClose", "[write_ad]") {
  lumen::test::TempDir tmp("ptycho_write_ad");
  const synth::PtychoScene scene(small_spec());
  const std::string layout = layout_dir() + "/cxi_like.xml";
  AdWriter w(tmp.path(), layout);
  set(w.stage.energy_unit, "keV");
  w.run(synth_items(scene, 4));
  const fs::path file = tmp.path() / "scan.h5";
  {
    hdf5::H5Reader r(file);
    CHECK(r.dims("/entry_1/instrument_1/detector_1/data") == std::vector<std::int64_t>{18, 32, 32});
    CHECK(r.dims("/entry_1/data_1/data") == std::vector<std::int64_t>{18, 32, 32});             // the layout's link
    CHECK(r.dims("/entry_1/instrument_1/detector_1/distance") == std::vector<std::int64_t>{1}); // OnFileClose
    CHECK(r.dims("/entry_1/instrument_1/detector_1/count_time") == std::vector<std::int64_t>{18});
    CHECK(r.dims("/entry_1/sample_1/geometry_1/translation_x") == std::vector<std::int64_t>{18});
    CHECK(r.read_numbers("/entry_1/instrument_1/source_1/energy")[0] == Approx(0.7068)); // keV
  }
  lumen::testing::Context rctx(tmp.path() / "read");
  ReadAd r;
  set(r.path, file.string());
  set(r.layout, layout);
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
  check_round_trip(scene, lumen::testing::read_all(r, rctx));
}

TEST_CASE("write_ad: a mask is written where mask_path says, values per frame from arrays", "[write_ad]") {
  lumen::test::TempDir tmp("ptycho_write_ad");
  const synth::PtychoScene scene(small_spec());
  auto items = synth_items(scene, 18);
  Array mask(DType::u8, Shape{32, 32});
  mask.writable<std::uint8_t>().at(3, 4) = 1;
  items[0].set("mask", mask);
  Array energy(DType::f64, Shape{18});
  for (std::int64_t k = 0; k < 18; ++k) energy.writable<double>().data()[k] = 700.0 + static_cast<double>(k);
  items[0].set("energy_eV", energy);
  AdWriter w(tmp.path());
  w.run(std::move(items));
  lumen::testing::Context rctx(tmp.path() / "read");
  ReadAd r;
  set(r.path, (tmp.path() / "scan.h5").string());
  set(r.layout, layout_dir() + "/minimal.xml");
  set(r.pos_x_path, "PosX");
  set(r.pos_y_path, "PosY");
  set(r.pos_unit, "um");
  set(r.energy_path, "Energy");
  set(r.mask_path, "/entry/calib/mask");
  const auto read = lumen::testing::read_all(r, rctx);
  REQUIRE(read.size() == 1);
  CHECK(read[0].array("mask").view<std::uint8_t>().at(3, 4) == 1);
  CHECK(read[0].array("mask").view<std::uint8_t>().at(4, 3) == 0);
  CHECK(read[0].array("energy_eV").view<double>().data()[17] == 717.0);
}

TEST_CASE("write_ad: no positions, a truncated scan or an out-of-order block fail and leave no file", "[write_ad]") {
  lumen::test::TempDir tmp("ptycho_write_ad");
  const synth::PtychoScene scene(small_spec());
  const auto count_files = [&] {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(tmp.path()))
      if (e.is_regular_file()) ++n;
    return n;
  };
  {
    auto items = synth_items(scene, 6);
    items[1].remove("pos");
    AdWriter w(tmp.path());
    const std::string e = error_of([&] { w.run(std::move(items)); });
    CHECK(e.find("no \"pos\"") != std::string::npos);
  }
  CHECK(count_files() == 0);
  {
    auto items = synth_items(scene, 6);
    items.pop_back(); // 12 of 18 frames
    AdWriter w(tmp.path());
    const std::string e = error_of([&] { w.run(std::move(items)); });
    CHECK(e.find("truncated") != std::string::npos);
    CHECK(e.find("12 of scan_frames = 18") != std::string::npos);
  }
  CHECK(count_files() == 0);
  {
    auto items = synth_items(scene, 6);
    std::swap(items[1], items[2]);
    AdWriter w(tmp.path());
    const std::string e = error_of([&] { w.run(std::move(items)); });
    CHECK(e.find("out of order") != std::string::npos);
  }
  CHECK(count_files() == 0);
  {
    WriteAd s;
    set(s.layout, (tmp.path() / "missing.xml").string());
    CHECK_THROWS_AS(s.validate(), ConfigError);
  }
}
