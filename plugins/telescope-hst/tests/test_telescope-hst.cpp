// Unit tests for the telescope-hst set: the table by INSTRUME/DETECTOR, the header precedence
// (ATODGAIN > ATODGN* > CCDGAIN > GAIN; READNSE* over the CCDAMP amplifiers > RDNOISE > table;
// parameters over everything), the HLA naming, non-HST files, and the plugin descriptor.
//
// Run: build/bin/test_telescope-hst   (or ctest -R telescope-hst)
#include "hst_stages.hpp"
#include "lumen/testing.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

extern "C" const LumenPluginDescriptor* lumen_plugin_descriptor();

namespace {

using lumen::hst::Identify;

lumen::Item fits(const std::string& file, const std::string& instrument, const std::string& detector) {
  lumen::Item item(std::filesystem::path(file).stem().string());
  item.provenance.source_file = file;
  item.set("image", lumen::Array(lumen::DType::f32, lumen::Shape{4, 4}));
  if (!instrument.empty()) item.meta.set("INSTRUME", instrument + "   "); // FITS strings may keep blanks
  if (!detector.empty()) item.meta.set("DETECTOR", detector);
  return item;
}

std::vector<lumen::Item> run(Identify& stage, lumen::Item item) {
  lumen::testing::Context ctx;
  stage.attach(ctx);
  lumen::testing::Collect out;
  stage.process(item, out);
  return std::move(out.items);
}

lumen::Item one(Identify& stage, lumen::Item item) {
  auto out = run(stage, std::move(item));
  REQUIRE(out.size() == 1);
  return std::move(out[0]);
}

} // namespace

TEST_CASE("HST table by instrument and detector", "[telescope-hst]") {
  Identify stage;
  struct Row {
    const char *ins, *det;
    double gain, rn;
  };
  for (const Row& r : {Row{"ACS", "WFC", 1.0, 3.5}, Row{"WFC3", "UVIS", 1.5, 3.09}, Row{"WFC3", "IR", 2.5, 15.0},
                       Row{"WFPC2", "3", 7.0, 6.5}, Row{"wfc3", "ir", 2.5, 15.0}}) {
    INFO(r.ins << "/" << r.det);
    const auto item = one(stage, fits("x/j1_detection_sci.fits", r.ins, r.det));
    CHECK(item.meta.get_string("facility") == "telescope-hst");
    CHECK(item.meta.get_string("domain") == "astronomy");
    CHECK(item.meta.get_number("gain_e_per_adu") == r.gain);
    CHECK(item.meta.get_number("read_noise_e") == r.rn);
    CHECK_THAT(*item.meta.get_string("calibration_source"), Catch::Contains("table"));
  }
}

TEST_CASE("HST header cards win over the table, in a fixed order", "[telescope-hst]") {
  Identify stage;
  auto f = fits("x/j1_g800l_sci.fits", "ACS", "WFC");
  f.meta.set("CCDGAIN", 2.0);
  f.meta.set("READNSEA", 4.0);
  f.meta.set("READNSEB", 5.0);
  f.meta.set("READNSEC", 6.0);
  f.meta.set("READNSED", 7.0);
  auto item = one(stage, f);
  CHECK(item.meta.get_number("gain_e_per_adu") == 2.0);
  CHECK(item.meta.get_number("read_noise_e") == Approx(5.5)); // no CCDAMP: all four amplifiers
  CHECK_THAT(*item.meta.get_string("calibration_source"),
             Catch::Contains("header CCDGAIN") && Catch::Contains("READNSE[ABCD]"));

  f.meta.set("CCDAMP", "AB");
  f.meta.set("ATODGNA", 2.02);
  f.meta.set("ATODGNB", 1.98);
  item = one(stage, f);
  CHECK(item.meta.get_number("gain_e_per_adu") == Approx(2.0)); // mean of ATODGNA, ATODGNB
  CHECK(item.meta.get_number("read_noise_e") == Approx(4.5));   // amplifiers A and B
  CHECK_THAT(*item.meta.get_string("calibration_source"), Catch::Contains("ATODGN[AB]"));

  f.meta.set("ATODGAIN", 2.1);
  item = one(stage, f);
  CHECK(item.meta.get_number("gain_e_per_adu") == 2.1);

  // The generic cards fits.read knows come after the HST ones, before the table.
  auto g = fits("x/j1_g800l_sci.fits", "WFC3", "UVIS");
  g.meta.set("GAIN", 1.6);
  g.meta.set("RDNOISE", 3.3);
  item = one(stage, g);
  CHECK(item.meta.get_number("gain_e_per_adu") == 1.6);
  CHECK(item.meta.get_number("read_noise_e") == 3.3);

  // Parameters win over everything.
  stage.gain_e_per_adu.assign(lumen::ParamValue{3.0});
  stage.read_noise_e.assign(lumen::ParamValue{9.0});
  item = one(stage, f);
  CHECK(item.meta.get_number("gain_e_per_adu") == 3.0);
  CHECK(item.meta.get_number("read_noise_e") == 9.0);
  CHECK_THAT(*item.meta.get_string("calibration_source"), Catch::Contains("parameter"));
}

TEST_CASE("HLA naming: detection = clean, g800l = noisy, scene astro_<obsid>", "[telescope-hst]") {
  Identify stage;
  auto item = one(stage, fits("astronomy/hla_associations/j8pu25_detection_sci.fits", "ACS", "WFC"));
  CHECK(item.meta.get_string("scene_id") == "astro_j8pu25");
  CHECK(item.meta.get_string("data_type") == "clean");
  item = one(stage, fits("astronomy/hla_associations/j8pu25_g800l_sci.fits", "ACS", "WFC"));
  CHECK(item.meta.get_string("data_type") == "noisy");
  CHECK(item.meta.get_string("scene_id") == "astro_j8pu25");
  for (const char* bad : {"a/j8pu25_f814w_sci.fits", "a/_detection_sci.fits", "a/j8pu25_detection_sci.mrc",
                          "a/hst_acs_wfc_F814W_cosmos_cutout_j8pu25fvq.fits"}) {
    INFO(bad);
    item = one(stage, fits(bad, "ACS", "WFC"));
    CHECK(item.meta.get_string("facility") == "telescope-hst"); // calibrated: the header says HST
    CHECK_FALSE(item.meta.has("scene_id"));
    Identify strict;
    strict.on_unknown.assign(lumen::ParamValue{std::string("error")});
    CHECK_THROWS_WITH(run(strict, fits(bad, "ACS", "WFC")),
                      Catch::Contains("HLA naming") && Catch::Contains("_g800l_sci.fits"));
  }
}

TEST_CASE("non-HST files and HST detectors outside the table", "[telescope-hst]") {
  Identify pass;
  auto f = fits("x/a8280271.fits", "STE3 CCD", "");
  f.meta.set("TELESCOP", "SAAO 1.0m");
  f.meta.set("gain_e_per_adu", 1.9);
  auto item = one(pass, f);
  CHECK_FALSE(item.meta.has("facility"));
  CHECK(item.meta.get_number("gain_e_per_adu") == 1.9); // fits.read's value stays
  Identify strict;
  strict.on_unknown.assign(lumen::ParamValue{std::string("error")});
  CHECK_THROWS_WITH(run(strict, f), Catch::Contains("not a Hubble frame") && Catch::Contains("SAAO 1.0m"));

  auto hrc = fits("x/j1_detection_sci.fits", "ACS", "HRC");
  item = one(pass, hrc); // no table row, no cards: passed on without facility meta
  CHECK_FALSE(item.meta.has("facility"));
  CHECK_THROWS_WITH(run(strict, hrc), Catch::Contains("ACS/HRC") && Catch::Contains("not in the table") &&
                                          Catch::Contains("gain_e_per_adu"));
  hrc.meta.set("CCDGAIN", 2.0);
  hrc.meta.set("READNSEA", 4.7);
  item = one(strict, hrc);
  CHECK(item.meta.get_number("gain_e_per_adu") == 2.0);
  CHECK(item.meta.get_number("read_noise_e") == 4.7);
}

TEST_CASE("the telescope-hst plugin descriptor lists its stage", "[telescope-hst][plugin]") {
  const LumenPluginDescriptor* d = lumen_plugin_descriptor();
  REQUIRE(d != nullptr);
  CHECK(std::string(d->set_name) == "telescope-hst");
  const auto* table = static_cast<const lumen::StageTable*>(d->stage_table);
  std::vector<std::string> names;
  for (const auto& f : table->stages) {
    names.push_back(f.name);
    CHECK(f.doc.find("Example") != std::string::npos);
    const auto stage = f.create();
    for (const lumen::ParamBase* p : stage->params()) CHECK_FALSE(p->spec().doc.empty());
  }
  CHECK(names == std::vector<std::string>{"telescope-hst.identify"});
}
