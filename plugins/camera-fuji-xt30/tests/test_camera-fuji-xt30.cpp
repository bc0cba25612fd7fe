// Unit tests for the camera-fuji-xt30 set: the log-ISO interpolation against hand-computed
// values (both table rows, ISO 800 and the geometric mean of the ends, clamping outside), the
// SID naming with .RAF and the Fuji scene prefix, and the plugin descriptor.
//
// Run: build/bin/test_camera-fuji-xt30   (or ctest -R camera-fuji)
#include "fuji_xt30_stages.hpp"
#include "lumen/testing.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using lumen::fuji_xt30::calibration;
using lumen::fuji_xt30::Identify;

lumen::Item frame(const std::string& file, double iso, const std::string& model = "X-T30") {
  lumen::Item item(std::filesystem::path(file).stem().string());
  item.provenance.source_file = file;
  item.set("image", lumen::Array(lumen::DType::u16, lumen::Shape{6, 6}));
  item.meta.set("model", model);
  item.meta.set("iso", iso);
  return item;
}

lumen::Item identify(Identify& stage, lumen::Item item) {
  lumen::testing::Context ctx;
  stage.attach(ctx);
  lumen::testing::Collect out;
  stage.process(item, out);
  REQUIRE(out.items.size() == 1);
  return std::move(out.items[0]);
}

} // namespace

TEST_CASE("X-T30 table: the rows themselves, then linear in log ISO between them", "[camera-fuji-xt30]") {
  auto c = calibration(160);
  CHECK(c.gain_e_per_adu == 1.8);
  CHECK(c.read_noise_e == 3.75);
  CHECK(c.source == "table ISO 160");
  c = calibration(12800);
  CHECK(c.gain_e_per_adu == 0.75);
  CHECK(c.read_noise_e == 2.5);
  // The geometric mean of 160 and 12800 is half way in log ISO: the arithmetic means.
  c = calibration(std::sqrt(160.0 * 12800.0));
  CHECK(c.gain_e_per_adu == Approx(1.275).epsilon(1e-12));
  CHECK(c.read_noise_e == Approx(3.125).epsilon(1e-12));
  // ISO 800 by hand: f = ln(800/160) / ln(12800/160) = 1.6094379 / 4.3820266 = 0.3672816;
  // gain 1.8 - 0.3672816 x 1.05 = 1.4143543; read noise 3.75 - 0.3672816 x 1.25 = 3.2908980.
  c = calibration(800);
  CHECK(c.gain_e_per_adu == Approx(1.4143543).epsilon(1e-7));
  CHECK(c.read_noise_e == Approx(3.2908980).epsilon(1e-7));
  CHECK_THAT(c.source, Catch::Contains("interpolated in log ISO between ISO 160 and 12800"));
  // Outside the native range: the end rows, and the source says so.
  c = calibration(80);
  CHECK(c.gain_e_per_adu == 1.8);
  CHECK_THAT(c.source, Catch::Contains("clamped to the table's lowest ISO 160"));
  c = calibration(51200);
  CHECK(c.read_noise_e == 2.5);
  CHECK_THAT(c.source, Catch::Contains("clamped to the table's highest ISO 12800"));
}

TEST_CASE("X-T30 frames: SID names with .RAF, scene prefix photo_fuji_, downsample 4", "[camera-fuji-xt30]") {
  Identify stage;
  auto item = identify(stage, frame("SID/Fuji/short/00017_02_0.1s.RAF", 800));
  CHECK(item.meta.get_string("facility") == "camera-fuji-xt30");
  CHECK(item.meta.get_string("scene_id") == "photo_fuji_00017");
  CHECK(item.meta.get_string("data_type") == "noisy");
  CHECK(item.meta.get_int("downsample_factor") == 4);
  CHECK(item.meta.get_number("gain_e_per_adu") == Approx(1.4143543).epsilon(1e-7));
  item = identify(stage, frame("SID/Fuji/long/00017_00_10s.dng", 160));
  CHECK(item.meta.get_string("data_type") == "clean");
  CHECK(item.meta.get_number("read_noise_e") == 3.75);
  // A Sony name (.ARW) is not an X-T30 file name, and a Sony frame is not this camera's.
  item = identify(stage, frame("SID/Fuji/short/00017_02_0.1s.ARW", 800));
  CHECK_FALSE(item.meta.has("scene_id"));
  item = identify(stage, frame("SID/Sony/short/00017_02_0.1s.ARW", 800, "ILCE-7SM2"));
  CHECK_FALSE(item.meta.has("facility"));
  stage.on_unknown.assign(lumen::ParamValue{std::string("error")});
  CHECK_THROWS_WITH(identify(stage, frame("SID/Fuji/short/DSCF0001.RAF", 800)),
                    Catch::Contains("SID naming") && Catch::Contains("00001_00_0.04s.RAF"));
}

TEST_CASE("the camera-fuji-xt30 plugin descriptor lists its stage", "[camera-fuji-xt30][plugin]") {
  const LumenPluginDescriptor* d = lumen_plugin_descriptor();
  REQUIRE(d != nullptr);
  CHECK(std::string(d->set_name) == "camera-fuji-xt30");
  const auto* table = static_cast<const lumen::StageTable*>(d->stage_table);
  std::vector<std::string> names;
  for (const auto& f : table->stages) {
    names.push_back(f.name);
    CHECK(f.doc.find("Example") != std::string::npos);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
  CHECK(names == std::vector<std::string>{"camera-fuji-xt30.identify"});
}
