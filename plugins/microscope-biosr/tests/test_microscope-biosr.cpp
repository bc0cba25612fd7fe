// Unit tests for the microscope-biosr set: the BioSR layout (every name kind, bad names), the
// calibration and its read noise for summed/averaged SIM stacks, the stack rules on a known
// 9-frame stack, on_unknown, and the plugin descriptor.
//
// Run: build/bin/test_microscope-biosr   (or ctest -R microscope-biosr)
#include "biosr_stages.hpp"
#include "lumen/testing.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using lumen::biosr::Identify;
using lumen::biosr::parse_biosr_path;

// A (9, 2, 3) u16 stack whose frame f holds 10 f + pixel index.
lumen::Item stack_item(const std::string& file, std::int64_t frames = 9) {
  lumen::Item item(std::filesystem::path(file).stem().string());
  item.provenance.source_file = file;
  lumen::Array a(lumen::DType::u16, lumen::Shape{frames, 2, 3});
  auto v = a.writable<std::uint16_t>();
  for (std::int64_t f = 0; f < frames; ++f)
    for (std::int64_t i = 0; i < 6; ++i) v.begin()[f * 6 + i] = static_cast<std::uint16_t>(10 * f + i);
  item.set("image", std::move(a));
  item.meta.set("units", "counts");
  return item;
}

std::vector<lumen::Item> run(Identify& stage, lumen::Item item) {
  lumen::testing::Context ctx;
  stage.attach(ctx);
  lumen::testing::Collect out;
  stage.process(item, out);
  return std::move(out.items);
}

} // namespace

TEST_CASE("BioSR names: raw levels noisy, ground truth clean, scene = structure + cell", "[microscope-biosr]") {
  auto n = parse_biosr_path("BioSR/Microtubules/Cell_01/RawSIMData_level_03.mrc");
  REQUIRE(n);
  CHECK(n->scene_id() == "micro_Microtubules_Cell_01");
  CHECK(n->data_type == "noisy");
  CHECK(n->level == 3);
  n = parse_biosr_path("CCPs/Cell_12/RawSIMData_gt.mrc");
  REQUIRE(n);
  CHECK(n->data_type == "clean");
  CHECK(n->level == -1);
  CHECK(n->scene_id() == "micro_CCPs_Cell_12");
  for (const char* gt : {"F-actin/Cell_02/SIM_gt.mrc", "F-actin/Cell_02/SIM_gt_a.mrc"}) {
    n = parse_biosr_path(gt);
    REQUIRE(n);
    CHECK(n->data_type == "clean");
  }
  n = parse_biosr_path("ER/Cell_05/RawGTSIMData_level_06.mrc");
  REQUIRE(n);
  CHECK(n->data_type == "noisy");
  CHECK(n->level == 6);
  n = parse_biosr_path("ER/Cell_05/GTSIM_level_06.mrc");
  REQUIRE(n);
  CHECK(n->data_type == "clean");
  CHECK(n->scene_id() == "micro_ER_Cell_05");
  for (const char* bad : {"ER/Cell_05/other.mrc", "ER/cell_05/GTSIM_level_06.mrc", "ER/Cell_x/GTSIM_level_06.mrc",
                          "ER/Cell_05/GTSIM_level_.mrc", "ER/Cell_05/RawSIMData_level_01.tif",
                          "Cell_05/RawSIMData_level_01.mrc", "ER/Cell_05/RawSIMData_level_01a.mrc"}) {
    INFO(bad);
    CHECK_FALSE(parse_biosr_path(bad));
  }
}

TEST_CASE("stack sum: the widefield image, read noise x 3 and black level x 9 for 9 frames", "[microscope-biosr]") {
  Identify stage;
  stage.black_level.assign(lumen::ParamValue{100.0});
  auto out = run(stage, stack_item("BioSR/Microtubules/Cell_01/RawSIMData_level_02.mrc"));
  REQUIRE(out.size() == 1);
  const auto& img = out[0].array("image");
  REQUIRE(img.ndim() == 2);
  REQUIRE(img.dtype() == lumen::DType::f32);
  // pixel i: sum over f of (10 f + i) = 10 x 36 + 9 i
  const auto v = img.view<float>();
  for (int i = 0; i < 6; ++i) CHECK(v.begin()[i] == Approx(360 + 9 * i));
  const auto& m = out[0].meta;
  CHECK(m.get_string("facility") == "microscope-biosr");
  CHECK(m.get_string("units") == "adu");
  CHECK(m.get_number("gain_e_per_adu") == 1.0);
  CHECK(m.get_number("read_noise_e") == Approx(4.5));
  CHECK(m.get_number("black_level") == Approx(900));
  CHECK(m.get_string("data_type") == "noisy");
  CHECK(m.get_int("biosr_level") == 2);
  CHECK_THAT(*m.get_string("calibration_source"), Catch::Contains("sqrt(9)"));
}

TEST_CASE("stack mean, first and all", "[microscope-biosr]") {
  Identify mean;
  mean.stack.assign(lumen::ParamValue{std::string("mean")});
  auto out = run(mean, stack_item("S/Cell_01/RawSIMData_gt.mrc"));
  REQUIRE(out.size() == 1);
  CHECK(out[0].array("image").view<float>().begin()[5] == Approx(45.0)); // mean of 10 f + 5
  CHECK(out[0].meta.get_number("read_noise_e") == Approx(0.5));
  CHECK(out[0].meta.get_string("data_type") == "clean");

  Identify first;
  first.stack.assign(lumen::ParamValue{std::string("first")});
  out = run(first, stack_item("S/Cell_01/RawSIMData_gt.mrc"));
  REQUIRE(out[0].array("image").ndim() == 2);
  CHECK(out[0].array("image").dtype() == lumen::DType::u16);
  CHECK(out[0].array("image").view<std::uint16_t>().begin()[4] == 4);
  CHECK(out[0].meta.get_number("read_noise_e") == 1.5);

  Identify all;
  all.stack.assign(lumen::ParamValue{std::string("all")});
  out = run(all, stack_item("S/Cell_01/RawSIMData_level_09.mrc"));
  REQUIRE(out.size() == 9);
  CHECK(out[8].id() == "RawSIMData_level_09/f08");
  CHECK(out[8].meta.get_int("sim_frame") == 8);
  CHECK(out[8].array("image").view<std::uint16_t>().begin()[0] == 80);
  CHECK(out[8].meta.get_string("scene_id") == "micro_S_Cell_01");
}

TEST_CASE("files outside the BioSR layout: pass without facility meta, or a clear error", "[microscope-biosr]") {
  Identify pass;
  auto out = run(pass, stack_item("maps/EMD-3197.map", 4));
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].meta.has("facility"));
  CHECK(out[0].meta.get_string("units") == "counts");
  CHECK(out[0].array("image").ndim() == 2); // the stack rule still gives a 2-D image
  Identify strict;
  strict.on_unknown.assign(lumen::ParamValue{std::string("error")});
  CHECK_THROWS_WITH(run(strict, stack_item("maps/EMD-3197.map", 4)), Catch::Contains("not a BioSR file") &&
                                                                         Catch::Contains("RawSIMData_level_XX") &&
                                                                         Catch::Contains("EMD-3197.map"));
  // Overrides of the table values.
  Identify custom;
  custom.gain_e_per_adu.assign(lumen::ParamValue{0.5});
  custom.read_noise_e.assign(lumen::ParamValue{2.0});
  custom.stack.assign(lumen::ParamValue{std::string("first")});
  out = run(custom, stack_item("S/Cell_01/RawSIMData_level_01.mrc"));
  CHECK(out[0].meta.get_number("gain_e_per_adu") == 0.5);
  CHECK(out[0].meta.get_number("read_noise_e") == 2.0);
}

TEST_CASE("the microscope-biosr plugin descriptor lists its stage", "[microscope-biosr][plugin]") {
  const LumenPluginDescriptor* d = lumen_plugin_descriptor();
  REQUIRE(d != nullptr);
  CHECK(std::string(d->set_name) == "microscope-biosr");
  const auto* table = static_cast<const lumen::StageTable*>(d->stage_table);
  std::vector<std::string> names;
  for (const auto& f : table->stages) {
    names.push_back(f.name);
    CHECK(f.doc.find("Example") != std::string::npos);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
  CHECK(names == std::vector<std::string>{"microscope-biosr.identify"});
}
