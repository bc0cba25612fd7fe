// End-to-end: the issue-4 tile pipelines through the real `lumen` binary.
//  - pipelines/multidomain-make-tree.yaml writes a synthetic SID / BioSR / HLA tree (DNG, MRC,
//    FITS); pipelines/multidomain-tiles.yaml turns it into PNG tiles: tile counts per domain from
//    the frame geometry, every record calibrated by its facility's table, complete pairing, no
//    scene in two splits, tiles_metadata.json valid against schemas/tiles_metadata.schema.json
//  - max_files limits every reader of multidomain-tiles.yaml
//  - pipelines/multidomain-tiles-demo.yaml runs with no input
//  - astro-tiles.yaml on the real FITS files, micro-tiles.yaml on the real MRC files and
//    photo-tiles.yaml on the real raw files of ../shared/data (skipped when absent)
//  - truncated DNG / FITS / MRC and a misnamed file: clear item errors, the rest goes on, no
//    temporary or half-written file is left
//  - bad configuration: file:line:column, stage and parameter in the message, nothing run
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using e2e::lumen;
using Json = nlohmann::json;

namespace {

const std::string kSource = LUMEN_SOURCE_DIR;
const std::string kPipelines = kSource + "/pipelines/";

std::vector<Json> records(const fs::path& run) {
  std::vector<Json> out;
  std::ifstream in(run / "outputs" / "tiles_metadata.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

Json summary(const fs::path& run) {
  return Json::parse(e2e::read_text(run / "artifacts" / "tiles_summary.json"));
}

std::map<std::string, std::int64_t> tiles_by_domain(const Json& s) {
  std::map<std::string, std::int64_t> n;
  for (const auto& [domain, count] : s.at("totals").at("by_domain").items()) n[domain] = count.get<std::int64_t>();
  return n;
}

// Pairing complete and no scene in two splits, from the summary and recomputed from the records.
void check_pairs_and_splits(const fs::path& run) {
  const Json s = summary(run);
  CHECK(s.at("pairing").at("every_clean_tile_has_noisy_twin") == true);
  CHECK(s.at("pairing").at("clean_without_noisy") == 0);
  CHECK(s.at("scenes").at("in_several_splits").empty());
  std::map<std::string, std::set<std::string>> splits_of_scene, types_of_pair;
  for (const Json& r : records(run)) {
    splits_of_scene[r.at("scene_id")].insert(r.at("split").get<std::string>());
    types_of_pair[r.at("pair_id")].insert(r.at("data_type").get<std::string>());
    CHECK(fs::exists(run / "outputs" / r.at("png_path").get<std::string>()));
  }
  for (const auto& [scene, splits] : splits_of_scene) {
    INFO(scene);
    CHECK(splits.size() == 1);
  }
  for (const auto& [pair, types] : types_of_pair) {
    INFO(pair);
    CHECK(types == std::set<std::string>{"clean", "noisy"});
  }
}

// tiles_metadata.json against its schema (python3 jsonschema, when installed).
void check_schema(const fs::path& run) {
  if (!e2e::have_python("jsonschema")) {
    WARN("schema check skipped: /usr/bin/python3 has no jsonschema");
    return;
  }
  const auto r = e2e::shell("/usr/bin/python3 -c " +
                            e2e::quote("import json, sys, jsonschema\n"
                                       "schema = json.load(open(sys.argv[1]))\n"
                                       "doc = json.load(open(sys.argv[2]))\n"
                                       "jsonschema.Draft202012Validator(schema).validate(doc)\n"
                                       "print('valid', len(doc['records']))\n") +
                            " " + e2e::quote(kSource + "/schemas/tiles_metadata.schema.json") + " " +
                            e2e::quote((run / "outputs" / "tiles_metadata.json").string()));
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

std::size_t temp_files(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".lumen-tmp") != std::string::npos) ++n;
  return n;
}

// The synthetic tree (multidomain-make-tree.yaml defaults: 2 scenes, 2 noisy per scene).
fs::path make_tree(const fs::path& dir) {
  const auto run = dir / "tree";
  const auto r = lumen({"run", kPipelines + "multidomain-make-tree.yaml", "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return run / "outputs";
}

} // namespace

TEST_CASE("multidomain: the synthetic tree through multidomain-tiles.yaml gives calibrated, paired, leak-free tiles",
          "[tiles][multidomain]") {
  e2e::TempDir dir("tiles-multidomain");
  const auto tree = make_tree(dir.path());
  CHECK(e2e::count_files(tree / "SID", ".dng") == 12);        // 2 cameras x 2 scenes x (2 short + 1 long)
  CHECK(e2e::count_files(tree / "microscopy", ".mrc") == 14); // Microtubules 2 x 3, ER 2 x 4
  CHECK(e2e::count_files(tree / "astronomy", ".fits") == 4);  // 2 obsids x (detection + g800l)

  const auto run = dir.path() / "tiles";
  const auto r = lumen({"run", kPipelines + "multidomain-tiles.yaml", "--set", "vars.input=" + tree.string(), "--set",
                        "vars.tile_size=64", "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("none in more than one split"));
  // Tiles per domain from the geometry (cover mode, 64 px):
  //   Sony 288 x 432 / 2 = 144 x 216 -> 3 x 4 = 12 per frame, 6 frames = 72
  //   Fuji 288 x 432 / 4 = 72 x 108  -> 2 x 2 = 4 per frame, 6 frames = 24
  //   BioSR 128 x 128 (9 frames summed) -> 2 x 2 = 4 per file, 14 files = 56
  //   HLA 256 x 256 -> 4 x 4 = 16 per file, 4 files = 64
  const Json s = summary(run);
  CHECK(tiles_by_domain(s) ==
        std::map<std::string, std::int64_t>{{"photography", 96}, {"microscopy", 56}, {"astronomy", 64}});
  CHECK(e2e::count_files(run / "outputs" / "png_tiles" / "photography" / "clean", ".png") == 32);
  CHECK(e2e::count_files(run / "outputs" / "png_tiles" / "photography" / "noisy", ".png") == 64);
  CHECK(e2e::count_files(run / "outputs" / "png_tiles", ".png") == 216);
  check_pairs_and_splits(run);
  check_schema(run);

  // Every record carries its facility's calibration (tables at the frames' ISO, BioSR, HST header).
  const auto all = records(run);
  REQUIRE(all.size() == 216);
  std::set<std::string> scenes;
  for (const Json& rec : all) {
    scenes.insert(rec.at("scene_id").get<std::string>());
    const std::string facility = rec.at("facility"), type = rec.at("data_type");
    const double gain = rec.at("gain"), read_noise = rec.at("read_noise");
    INFO(rec.at("tile_id").get<std::string>());
    CHECK(rec.at("calibration_method") == "(ADU - black_level) * gain");
    if (facility == "camera-sony-a7s2") {
      CHECK(gain == (type == "clean" ? 2.1 : 0.79)); // ISO 2000 / ISO 4000
      CHECK(read_noise == (type == "clean" ? 6.0 : 2.5));
      CHECK(rec.at("channels") == 3);
    } else if (facility == "camera-fuji-xt30") {
      CHECK(gain == (type == "clean" ? 1.8 : 0.75)); // ISO 160 / ISO 12800
      CHECK(read_noise == (type == "clean" ? 3.75 : 2.5));
    } else if (facility == "microscope-biosr") {
      CHECK(gain == 1.0);
      CHECK(read_noise == Approx(4.5)); // 1.5 e- per frame, 9 frames summed
      CHECK(rec.at("channels") == 1);
    } else {
      REQUIRE(facility == "telescope-hst");
      CHECK(gain == 1.0); // the synthetic files' CCDGAIN card
      CHECK(read_noise == 3.5);
      CHECK_THAT(rec.at("calibration_source").get<std::string>(), Catch::Contains("header CCDGAIN"));
    }
  }
  CHECK(scenes == std::set<std::string>{"photo_00001", "photo_00002", "photo_fuji_00001", "photo_fuji_00002",
                                        "micro_Microtubules_Cell_01", "micro_Microtubules_Cell_02", "micro_ER_Cell_01",
                                        "micro_ER_Cell_02", "astro_jsyn0001", "astro_jsyn0002"});

  // max_files limits every reader to its first files in natural order: Sony/Fuji short 4 (both
  // scenes), long 2, BioSR 4 (ER/Cell_01: GTSIM_level_01/02, RawGTSIMData_level_01/02), HLA 4.
  const auto limited = dir.path() / "limited";
  const auto l =
      lumen({"run", kPipelines + "multidomain-tiles.yaml", "--set", "vars.input=" + tree.string(), "--set",
             "vars.tile_size=64", "--set", "vars.max_files=4", "--run-dir", limited.string(), "--no-progress"});
  INFO(l.output);
  REQUIRE(l.exit_code == 0);
  CHECK_THAT(l.output, Catch::Contains("20 work units"));
  CHECK(tiles_by_domain(summary(limited)) ==
        std::map<std::string, std::int64_t>{{"photography", 96}, {"microscopy", 16}, {"astronomy", 64}});
  check_pairs_and_splits(limited);
}

TEST_CASE("multidomain-tiles-demo.yaml runs end to end without input", "[tiles][multidomain]") {
  e2e::TempDir dir("tiles-demo");
  const auto run = dir.path() / "run";
  const auto r = lumen({"run", kPipelines + "multidomain-tiles-demo.yaml", "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // 3 scenes: Sony 9 frames x 12 + Fuji 9 x 4 = 144; BioSR (3 x 3 + 3 x 4) x 4 = 84; HLA 6 x 16 = 96.
  CHECK(tiles_by_domain(summary(run)) ==
        std::map<std::string, std::int64_t>{{"photography", 144}, {"microscopy", 84}, {"astronomy", 96}});
  check_pairs_and_splits(run);
  check_schema(run);
}

TEST_CASE("astro-tiles.yaml on the real FITS files: HST header calibration, a frame without gain fails clearly",
          "[tiles][astro]") {
  const auto fits = e2e::shared_data("fits");
  if (!fs::exists(fits / "hst_acs_wfc_F814W_cosmos_cutout_j8pu25fvq.fits")) {
    WARN("SKIPPED: shared FITS samples not found under " << fits.string());
    return;
  }
  e2e::TempDir dir("tiles-astro");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", kPipelines + "astro-tiles.yaml", "--set", "vars.input=" + fits.string(), "--run-dir",
                  run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2); // the CTIO frame has no GAIN card
  const auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0],
             Catch::Contains("ctio4m_mosaic2_tpv") && Catch::Contains("no gain") && Catch::Contains("set gain"));
  bool saw_hst = false;
  for (const Json& rec : records(run)) {
    const std::string file = fs::path(rec.at("source_file").get<std::string>()).filename().string();
    INFO(file);
    if (file == "hst_acs_wfc_F814W_cosmos_cutout_j8pu25fvq.fits") {
      saw_hst = true;
      // ATODGNA..D and READNSEA..D of the real ACS/WFC header win over the table (1.0, 3.5).
      CHECK(rec.at("facility") == "telescope-hst");
      CHECK(rec.at("gain").get<double>() == Approx(1.000175).epsilon(1e-5));
      CHECK(rec.at("read_noise").get<double>() == Approx(4.9775).epsilon(1e-4));
      CHECK_THAT(rec.at("calibration_source").get<std::string>(), Catch::Contains("ATODGN"));
      CHECK(rec.at("scene_id") == "astro_hst_acs_wfc_F814W_cosmos_cutout_j8pu25fvq"); // tile.label: the stem
    }
    if (file == "saao1m_STE3_a8280271.fits") {
      CHECK(rec.at("gain") == 1.9); // fits.read's GAIN / RDNOISE: not a Hubble frame
      CHECK(rec.at("read_noise") == 5.0);
      CHECK((!rec.contains("facility") || rec.at("facility").is_null()));
    }
  }
  CHECK(saw_hst);
  check_schema(run);

  // With a gain and read noise for frames that have none, every file goes through.
  const auto run2 = dir.path() / "run2";
  r = lumen({"run", kPipelines + "astro-tiles.yaml", "--set", "vars.input=" + fits.string(), "--set", "vars.gain=1.5",
             "--set", "vars.read_noise=5", "--run-dir", run2.string(), "--no-progress"});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  // 520x536 -> 3 x 3, 3 SCI 288x132 -> 2 x 1 each, 543x543 -> 3 x 3, 2 SCI 1x1 -> 1 each, 512x512 -> 2 x 2
  CHECK(tiles_by_domain(summary(run2)) == std::map<std::string, std::int64_t>{{"astronomy", 9 + 6 + 9 + 2 + 4}});
}

TEST_CASE("micro-tiles.yaml on the real MRC files", "[tiles][micro]") {
  const auto mrc = e2e::shared_data("mrc");
  if (!fs::exists(mrc / "EMD-3197.map")) {
    WARN("SKIPPED: shared MRC samples not found under " << mrc.string());
    return;
  }
  e2e::TempDir dir("tiles-micro");
  const auto run = dir.path() / "run";
  const auto r = lumen({"run", kPipelines + "micro-tiles.yaml", "--set", "vars.input=" + mrc.string(), "--run-dir",
                        run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto all = records(run);
  REQUIRE(all.size() == 2); // a 20^3 volume summed to 20 x 20 and a 16 x 16 image: one padded tile each
  for (const Json& rec : all) {
    CHECK(rec.at("domain") == "microscopy");
    CHECK(rec.at("gain") == 1.0); // the pipeline's gain for files outside BioSR
    CHECK(rec.at("valid_ratio").get<double>() < 0.01);
  }
  check_schema(run);
}

TEST_CASE("photo-tiles.yaml on the real raw files: a camera without a facility set goes the generic way",
          "[tiles][photo]") {
  const auto raw = e2e::shared_data("raw");
  if (!fs::exists(raw / "tinydng_colorchart_CanonEOSKissX4.dng")) {
    WARN("SKIPPED: shared raw samples not found under " << raw.string());
    return;
  }
  e2e::TempDir dir("tiles-photo");
  const auto run = dir.path() / "run";
  const auto r = lumen({"run", kPipelines + "photo-tiles.yaml", "--set", "vars.input=" + raw.string(), "--set",
                        "vars.gain=1.0", "--set", "vars.read_noise=3", "--set", "vars.downsample=2", "--set",
                        "vars.label_data_type=noisy", "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2); // the two metadata-only stubs fail at raw.read
  CHECK(e2e::events(run, "item_failed").size() == 2);
  const auto all = records(run);
  REQUIRE(all.size() == 12); // Canon 1734 x 1156 / 2 = 867 x 578 -> cover 256: 4 x 3
  for (const Json& rec : all) {
    CHECK(rec.at("channels") == 3);
    CHECK(rec.at("gain") == 1.0); // the pipeline's gain: the Canon is no facility's camera
    CHECK(rec.at("data_type") == "noisy");
    CHECK(rec.at("scene_id") == "photo_tinydng_colorchart_CanonEOSKissX4");
  }
  check_schema(run);
}

TEST_CASE("truncated DNG, FITS and MRC files and a misnamed file fail their items clearly and nothing is half-written",
          "[tiles][errors]") {
  e2e::TempDir dir("tiles-bad-input");
  const auto tree = make_tree(dir.path());
  const auto truncate = [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); };
  truncate(tree / "SID/Sony/short/00002_01_0.04s.dng");
  truncate(tree / "astronomy/hla_associations/jsyn0002_g800l_sci.fits");
  truncate(tree / "microscopy/structures/ER/Cell_02/RawGTSIMData_level_02.mrc");
  fs::copy_file(tree / "microscopy/structures/ER/Cell_02/GTSIM_level_01.mrc",
                tree / "microscopy/structures/ER/notes.mrc");

  const auto run = dir.path() / "run";
  const auto r = lumen({"run", kPipelines + "multidomain-tiles.yaml", "--set", "vars.input=" + tree.string(), "--set",
                        "vars.tile_size=64", "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run, "item_failed");
  std::string all;
  for (const auto& f : failed) all += f + "\n";
  INFO(all);
  CHECK(failed.size() == 4);
  CHECK_THAT(all, Catch::Contains("00002_01_0.04s.dng"));
  CHECK_THAT(all, Catch::Contains("jsyn0002_g800l_sci.fits"));
  CHECK_THAT(all, Catch::Contains("RawGTSIMData_level_02.mrc"));
  CHECK_THAT(all, Catch::Contains("not a BioSR file") && Catch::Contains("notes.mrc"));
  // The other files went through; the failed ones left no tile and no temporary file.
  const auto tiles = tiles_by_domain(summary(run));
  CHECK(tiles.at("photography") == 96 - 12);
  CHECK(tiles.at("microscopy") == 56 - 4);
  CHECK(tiles.at("astronomy") == 64 - 16);
  for (const Json& rec : records(run)) {
    const std::string src = rec.at("source_file");
    CHECK(src.find("Sony/short/00002_01_0.04s") == std::string::npos);
    CHECK(src.find("jsyn0002_g800l") == std::string::npos);
  }
  CHECK(temp_files(run) == 0);
  CHECK(temp_files(tree) == 0);
}

TEST_CASE("bad configuration of the tile pipelines: file:line:column, stage and parameter, nothing run",
          "[tiles][errors]") {
  e2e::TempDir dir("tiles-bad-config");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", kPipelines + "multidomain-tiles.yaml", "--set", "vars.input=" + dir.path().string(), "--set",
                  "vars.on_unknown=maybe", "--set", "vars.tile_mode=diagonal", "--run-dir", run.string()});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(
      r.output,
      Catch::Matches(
          R"((.|\n)*multidomain-tiles\.yaml:\d+:\d+: error: stage 'biosr' \(microscope-biosr\.identify\), parameter 'on_unknown'(.|\n)*)"));
  CHECK_THAT(r.output, Catch::Contains("parameter 'mode': \"diagonal\" is not one of: stride, cover, count"));
  CHECK_THAT(r.output, Catch::Contains("nothing was run"));
  CHECK_FALSE(fs::exists(run / "outputs" / "tiles_metadata.json"));

  r = lumen({"validate", kPipelines + "photo-tiles.yaml", "--set", "vars.input=x", "--set", "vars.max_files=-2"});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("photo-tiles.yaml:") && Catch::Contains("parameter 'max_files'"));

  r = lumen({"validate", kPipelines + "multidomain-make-tree.yaml", "--set", "vars.photo_width=100"});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("photo_width") && Catch::Contains("multiple of 6"));
}
