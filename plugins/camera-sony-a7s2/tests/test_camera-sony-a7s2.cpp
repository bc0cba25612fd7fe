// Unit tests for the camera-sony-a7s2 set: the calibration table against the values
// (every table point, both sides of the dual-gain switch, between 2000 and 4000), the SID naming
// (good and bad names, folder and exposure rules), other cameras and on_unknown, and the
// plugin descriptor.
//
// Run: build/bin/test_camera-sony-a7s2   (or ctest -R camera-sony)
#include "lumen/testing.hpp"
#include "sony_a7s2_stages.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using lumen::sony_a7s2::calibration;
using lumen::sony_a7s2::Identify;

lumen::Item frame(const std::string& file, double iso = 3200, const std::string& model = "ILCE-7SM2") {
  lumen::Item item(std::filesystem::path(file).stem().string());
  item.provenance.source_file = file;
  item.set("image", lumen::Array(lumen::DType::u16, lumen::Shape{4, 4}));
  item.meta.set("model", model);
  if (iso > 0) item.meta.set("iso", iso);
  return item;
}

std::vector<lumen::Item> run(Identify& stage, lumen::Item item) {
  lumen::testing::Context ctx;
  stage.attach(ctx);
  stage.validate();
  lumen::testing::Collect out;
  stage.process(item, out);
  return std::move(out.items);
}

void set(lumen::ParamBase& p, lumen::ParamValue v) {
  REQUIRE(p.spec().check(v).empty());
  p.assign(v);
}

} // namespace

TEST_CASE("Sony A7S II table: 2.1 e-/ADU and 6.0 e- below ISO 4000, 0.79 and 2.5 from 4000", "[camera-sony-a7s2]") {
  for (double iso : {100.0, 800.0, 2000.0, 3200.0, 3999.0}) {
    const auto c = calibration(iso);
    CHECK(c.gain_e_per_adu == 2.1);
    CHECK(c.read_noise_e == 6.0);
    CHECK_THAT(c.source, Catch::Contains("low conversion gain"));
  }
  CHECK_THAT(calibration(3200).source, Catch::Contains("ISO 3200") && Catch::Contains("not scaled"));
  CHECK_THAT(calibration(2000).source, !Catch::Contains("not scaled"));
  for (double iso : {4000.0, 6400.0, 12800.0, 409600.0}) {
    const auto c = calibration(iso);
    CHECK(c.gain_e_per_adu == 0.79);
    CHECK(c.read_noise_e == 2.5);
    CHECK_THAT(c.source, Catch::Contains("dual-gain switch"));
  }
}

TEST_CASE("SID names: short = noisy, long = clean, scene photo_<digits>", "[camera-sony-a7s2]") {
  Identify stage;
  auto out = run(stage, frame("SID/Sony/short/00001_00_0.04s.ARW", 2000));
  REQUIRE(out.size() == 1);
  const auto& m = out[0].meta;
  CHECK(m.get_string("facility") == "camera-sony-a7s2");
  CHECK(m.get_string("domain") == "photography");
  CHECK(m.get_string("scene_id") == "photo_00001");
  CHECK(m.get_string("data_type") == "noisy");
  CHECK(m.get_number("gain_e_per_adu") == 2.1);
  CHECK(m.get_number("read_noise_e") == 6.0);
  CHECK(m.get_int("downsample_factor") == 2);
  CHECK(m.get_number("sid_exposure_s") == 0.04);
  CHECK(m.get_int("sid_shot") == 0);
  CHECK_THAT(*m.get_string("calibration_source"), Catch::Contains("ISO 2000"));

  out = run(stage, frame("SID/Sony/long/00230_00_10s.ARW", 6400));
  REQUIRE(out.size() == 1);
  CHECK(out[0].meta.get_string("scene_id") == "photo_00230");
  CHECK(out[0].meta.get_string("data_type") == "clean");
  CHECK(out[0].meta.get_number("gain_e_per_adu") == 0.79);

  // Synthetic DNGs follow the same rule; outside short/long folders the exposure decides.
  out = run(stage, frame("tree/00002_03_30s.dng"));
  CHECK(out[0].meta.get_string("data_type") == "clean");
  CHECK(out[0].meta.get_int("sid_shot") == 3);
  out = run(stage, frame("tree/00002_01_0.1s.DNG"));
  CHECK(out[0].meta.get_string("data_type") == "noisy");
  set(stage.clean_min_exposure_s, 0.05);
  out = run(stage, frame("tree/00002_01_0.1s.DNG"));
  CHECK(out[0].meta.get_string("data_type") == "clean");
  // label_by: exposure ignores the folder; folder ignores the exposure.
  set(stage.label_by, std::string("exposure"));
  out = run(stage, frame("SID/Sony/long/00003_00_0.01s.ARW"));
  CHECK(out[0].meta.get_string("data_type") == "noisy");
  set(stage.label_by, std::string("folder"));
  out = run(stage, frame("SID/Sony/long/00003_00_0.01s.ARW"));
  CHECK(out[0].meta.get_string("data_type") == "clean");
}

TEST_CASE("names that do not follow SID: pass keeps calibration without scene, error says what was expected",
          "[camera-sony-a7s2]") {
  for (const char* bad :
       {"SID/Sony/short/IMG_0001.ARW", "SID/Sony/short/00001_00_0.04.ARW", "SID/Sony/short/00001_00_s.ARW",
        "SID/Sony/short/0000a_00_0.04s.ARW", "SID/Sony/short/00001_00_0.04s.NEF", "SID/Sony/short/00001_00_1e3s.ARW",
        "SID/Sony/short/00001_00_0s.ARW", "SID/Sony/short/00001_0.04s.ARW"}) {
    INFO(bad);
    Identify pass;
    auto out = run(pass, frame(bad));
    REQUIRE(out.size() == 1);
    CHECK(out[0].meta.get_string("facility") == "camera-sony-a7s2");
    CHECK(out[0].meta.get_number("gain_e_per_adu") == 2.1);
    CHECK_FALSE(out[0].meta.has("scene_id"));
    CHECK_FALSE(out[0].meta.has("data_type"));
    Identify strict;
    set(strict.on_unknown, std::string("error"));
    CHECK_THROWS_WITH(run(strict, frame(bad)), Catch::Contains("does not follow the SID naming") &&
                                                   Catch::Contains("00001_00_0.04s.ARW") &&
                                                   Catch::Contains("on_unknown: pass"));
  }
  Identify strict;
  set(strict.on_unknown, std::string("error"));
  set(strict.label_by, std::string("folder"));
  CHECK_THROWS_WITH(run(strict, frame("flat/00001_00_0.04s.ARW")), Catch::Contains("short or long"));
}

TEST_CASE("frames of other cameras pass untouched, or fail with on_unknown: error", "[camera-sony-a7s2]") {
  Identify pass;
  auto out = run(pass, frame("SID/Fuji/short/00001_00_0.1s.RAF", 800, "X-T30"));
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].meta.has("facility"));
  CHECK_FALSE(out[0].meta.has("gain_e_per_adu"));
  Identify strict;
  set(strict.on_unknown, std::string("error"));
  CHECK_THROWS_WITH(run(strict, frame("a/00001_00_0.1s.RAF", 800, "X-T30")),
                    Catch::Contains("not a camera-sony-a7s2 frame") && Catch::Contains("X-T30"));
  set(strict.models, std::vector<std::string>{"ILCE-7SM2", "X-T30"});
  CHECK_NOTHROW(run(strict, frame("a/00001_00_0.1s.ARW", 800, "X-T30")));
}

TEST_CASE("ISO from the parameter, overrides of gain and read noise, and a frame without ISO", "[camera-sony-a7s2]") {
  Identify stage;
  CHECK_THROWS_WITH(run(stage, frame("SID/Sony/short/00001_00_0.04s.ARW", 0)),
                    Catch::Contains("no ISO") && Catch::Contains("iso"));
  set(stage.iso, 5000.0);
  auto out = run(stage, frame("SID/Sony/short/00001_00_0.04s.ARW", 0));
  CHECK(out[0].meta.get_number("gain_e_per_adu") == 0.79);
  set(stage.gain_e_per_adu, 1.25);
  out = run(stage, frame("SID/Sony/short/00001_00_0.04s.ARW", 100));
  CHECK(out[0].meta.get_number("gain_e_per_adu") == 1.25);
  CHECK(out[0].meta.get_number("read_noise_e") == 2.5); // ISO 5000 from the parameter
  CHECK_THAT(*out[0].meta.get_string("calibration_source"), Catch::Contains("parameter gain_e_per_adu"));
  CHECK_FALSE(stage.gain_e_per_adu.spec().check(lumen::ParamValue{-1.0}).empty());
  CHECK_FALSE(stage.label_by.spec().check(lumen::ParamValue{std::string("name")}).empty());
}

TEST_CASE("the camera-sony-a7s2 plugin descriptor lists its stage", "[camera-sony-a7s2][plugin]") {
  const LumenPluginDescriptor* d = lumen_plugin_descriptor();
  REQUIRE(d != nullptr);
  CHECK(std::string(d->set_name) == "camera-sony-a7s2");
  const auto* table = static_cast<const lumen::StageTable*>(d->stage_table);
  std::vector<std::string> names;
  for (const auto& f : table->stages) {
    names.push_back(f.name);
    CHECK(f.doc.find("Example") != std::string::npos);
    CHECK(f.concurrent);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
  CHECK(names == std::vector<std::string>{"camera-sony-a7s2.identify"});
}

TEST_CASE("a synthetic item without a source file is named by its meta tree_path", "[camera-sony-a7s2]") {
  Identify stage;
  lumen::Item item = frame("", 4000);
  item.meta.set("tree_path", "SID/Sony/long/00004_00_10s.dng");
  const auto out = run(stage, item);
  REQUIRE(out.size() == 1);
  CHECK(out[0].meta.get_string("scene_id") == "photo_00004");
  CHECK(out[0].meta.get_string("data_type") == "clean");
}
