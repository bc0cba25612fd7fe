// End-to-end: the `tile` set through the real `lumen` binary. Synthetic star fields are written as
// clean / noisy FITS pairs named like facility files (s00_clean.fits, s00_noisy.fits), then
// read, stretched to 8 bits, labelled by tile.label from the names, cut by tile.grid, split by
// tile.split and written by tile.write. Checked: the PNG files, the metadata index and summary
// against schemas/tiles_metadata.schema.json and schemas/tiles_summary.schema.json (python3
// jsonschema), every record's split recomputed from python3's hashlib, complete pairing and no
// scene leak, the printed summary, bad configurations whose errors name the parameter, and a run
// stopped by a failure that leaves no metadata file (not even half of one).
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const std::string kSource = LUMEN_SOURCE_DIR;

std::string make_pipeline(const std::string& type, double read_noise) {
  return "pipeline: make-" + type +
         "\nversion: 1\nstages:\n"
         "  - id: sky\n    use: synth.starfield\n"
         "    with: {count: 3, width: 200, height: 330, dtype: f32, seed: 5, stars: 40, read_noise_e: " +
         std::to_string(read_noise) +
         "}\n"
         "  - id: save\n    use: fits.write\n    with: {name: \"s{index:02d}_" +
         type + ".fits\"}\n";
}

const char* kTiles = R"(pipeline: tiles
version: 1
vars:
  input: ""
  mode: cover
stages:
  - id: read
    use: fits.read
    with: {path: "${input}"}
  - id: to8
    use: image.to8bit
  - id: label
    use: tile.label
    with: {scene_regex: '^(s\d+)_', scene_prefix: astro_, clean_regex: '_clean$', noisy_regex: '_noisy$'}
  - id: tiles
    use: tile.grid
    with: {tile_size: 64, mode: "${mode}"}
  - id: split
    use: tile.split
  - id: write
    use: tile.write
)";

// Validates the index and summary against the schemas and recomputes every split from hashlib.
const char* kCheck = R"(
import hashlib, json, sys, jsonschema
schemas, run = sys.argv[1], sys.argv[2]
meta_schema = json.load(open(schemas + '/tiles_metadata.schema.json'))
summary_schema = json.load(open(schemas + '/tiles_summary.schema.json'))
doc = json.load(open(run + '/outputs/tiles_metadata.json'))
jsonschema.Draft202012Validator(meta_schema).validate(doc)
record = jsonschema.Draft202012Validator(meta_schema['$defs']['record'])
lines = [json.loads(l) for l in open(run + '/outputs/tiles_metadata.jsonl')]
for l in lines: record.validate(l)
summary = json.load(open(run + '/artifacts/tiles_summary.json'))
jsonschema.Draft202012Validator(summary_schema).validate(summary)
assert len(lines) == doc['tile_count'] == summary['tiles'] == int(sys.argv[3]), (len(lines), doc['tile_count'])
assert sorted(r['tile_id'] for r in lines) == sorted(r['tile_id'] for r in doc['records'])
for r in lines:
    b = int.from_bytes(hashlib.md5(r['scene_id'].encode('utf-8')).digest()[:4], 'big') % 100
    want = 'train' if b < 70 else 'validation' if b < 85 else 'test'
    assert r['split_hash'] == b and r['split'] == want, (r['scene_id'], b, r['split'])
    assert r['pair_id'] == '%s_g%d_%d' % (r['scene_id'], r['grid_y'], r['grid_x'])
    assert r['png_path'] == 'png_tiles/astronomy/%s/%s.png' % (r['data_type'], r['tile_id'])
assert summary['pairing']['every_clean_tile_has_noisy_twin'] and summary['pairing']['noisy_without_clean'] == 0
assert summary['scenes']['leak_free'] and summary['scenes']['count'] == 3
print('ok', len(lines), 'records')
)";

int python(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "/usr/bin/python3 -c " + e2e::quote(script);
  for (const auto& a : args) cmd += " " + e2e::quote(a);
  const auto r = e2e::shell(cmd);
  UNSCOPED_INFO(r.output);
  return r.exit_code;
}

fs::path make_inputs(const fs::path& dir) {
  const fs::path input = dir / "input";
  for (const auto& [type, noise] : {std::pair{"clean", 0.5}, std::pair{"noisy", 40.0}}) {
    const fs::path p = dir / (std::string("make-") + type + ".yaml");
    e2e::write_text(p, make_pipeline(type, noise));
    const auto r =
        lumen({"run", p.string(), "--run-dir", (dir / (std::string("make-") + type)).string(), "--no-progress"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    for (const auto& e : fs::directory_iterator(dir / (std::string("make-") + type) / "outputs")) {
      fs::create_directories(input);
      fs::copy_file(e.path(), input / e.path().filename());
    }
  }
  return input;
}

} // namespace

TEST_CASE("tile set end to end: clean/noisy FITS pairs to PNG tiles, index and summary valid", "[tile][e2e]") {
  e2e::TempDir dir("tile-e2e");
  const fs::path input = make_inputs(dir.path());
  REQUIRE(e2e::count_files(input, ".fits") == 6);
  e2e::write_text(dir.path() / "tiles.yaml", kTiles);
  const fs::path run = dir.path() / "run";
  const auto r = lumen({"run", (dir.path() / "tiles.yaml").string(), "--set", "vars.input=" + input.string(),
                        "--run-dir", run.string(), "--threads", "2", "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // cover: 330 rows -> 6 tile rows, 200 columns -> 4 tile columns; 24 tiles x 6 images.
  CHECK(e2e::count_files(run / "outputs" / "png_tiles" / "astronomy" / "clean", ".png") == 72);
  CHECK(e2e::count_files(run / "outputs" / "png_tiles" / "astronomy" / "noisy", ".png") == 72);
  CHECK_THAT(r.output, Catch::Contains("tiles summary") && Catch::Contains("0 clean without a noisy twin") &&
                           Catch::Contains("none in more than one split"));
  CHECK(e2e::events(run, "item_failed").empty());
  CHECK(fs::exists(run / "artifacts" / "tiles_summary.json"));
  if (!e2e::have_python("jsonschema")) {
    WARN("SKIPPED: schema and hash checks need /usr/bin/python3 with jsonschema");
    return;
  }
  CHECK(python(kCheck, {kSource + "/schemas", run.string(), "144"}) == 0);

  // The PNGs decode to 64 x 64 8-bit gray (Pillow), when it is installed.
  if (e2e::have_python("PIL")) {
    CHECK(python("import sys, glob\nfrom PIL import Image\n"
                 "fs = glob.glob(sys.argv[1] + '/**/*.png', recursive=True)\n"
                 "assert len(fs) == 144 and all(Image.open(f).size == (64, 64) and Image.open(f).mode == 'L' "
                 "for f in fs)\n",
                 {(run / "outputs" / "png_tiles").string()}) == 0);
  }

  // stride mode, drop: 5 x 3 tiles per image.
  const fs::path stride = dir.path() / "stride";
  const auto s = lumen({"run", (dir.path() / "tiles.yaml").string(), "--set", "vars.input=" + input.string(), "--set",
                        "vars.mode=stride", "--run-dir", stride.string(), "--no-progress"});
  INFO(s.output);
  REQUIRE(s.exit_code == 0);
  CHECK(python(kCheck, {kSource + "/schemas", stride.string(), "90"}) == 0);
}

TEST_CASE("tile set: bad configurations are refused before any data is read, naming the parameter",
          "[tile][e2e][errors]") {
  e2e::TempDir dir("tile-e2e-config");
  e2e::write_text(dir.path() / "tiles.yaml", kTiles);
  const std::string p = (dir.path() / "tiles.yaml").string();
  auto r = lumen({"validate", p, "--set", "vars.input=x.fits", "--set", "tiles.tile_size=0"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("tile_size"));
  r = lumen({"validate", p, "--set", "vars.input=x.fits", "--set", "split.test_percent=10"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("test_percent") && Catch::Contains("must be 100"));
  r = lumen({"validate", p, "--set", "vars.input=x.fits", "--set", "label.scene_regex='^(s\\d+_'"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("scene_regex") && Catch::Contains("not a valid"));
  r = lumen({"validate", p, "--set", "vars.input=x.fits", "--set", "tiles.rows=3"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("rows") && Catch::Contains("mode: count"));
}

TEST_CASE("tile set: a run stopped by a failing tile leaves no metadata file", "[tile][e2e][errors]") {
  e2e::TempDir dir("tile-e2e-fail");
  const fs::path input = make_inputs(dir.path());
  // Without image.to8bit the tiles are f32: tile.write fails the first one and --fail-fast stops the run.
  std::string pipeline = kTiles;
  const auto at = pipeline.find("  - id: to8\n    use: image.to8bit\n");
  REQUIRE(at != std::string::npos);
  pipeline.erase(at, std::string("  - id: to8\n    use: image.to8bit\n").size());
  e2e::write_text(dir.path() / "tiles.yaml", pipeline);
  const fs::path run = dir.path() / "run";
  const auto r = lumen({"run", (dir.path() / "tiles.yaml").string(), "--set", "vars.input=" + input.string(),
                        "--run-dir", run.string(), "--fail-fast", "--no-progress"});
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK_THAT(r.output, Catch::Contains("image.to8bit"));
  CHECK_FALSE(fs::exists(run / "outputs" / "tiles_metadata.json"));
  CHECK_FALSE(fs::exists(run / "outputs" / "tiles_metadata.jsonl"));
  CHECK_FALSE(fs::exists(run / "artifacts" / "tiles_summary.json"));
  for (const auto& e : fs::recursive_directory_iterator(run))
    CHECK(e.path().string().find(".lumen-tmp") == std::string::npos);
}

namespace {

// A star field with hot pixels (sharp single-pixel spikes L.A.Cosmic flags) -> electrons ->
// cosmic rays (the full mask also saved as .npy) -> asinh u8 -> tiles with the mask cut alongside.
const char* kMasks = R"(pipeline: tile-masks
version: 1
stages:
  - id: sky
    use: synth.starfield
    with: {count: 1, width: 300, height: 200, seed: 7, gain_e_per_adu: 1.5, bias_adu: 100, sky_e: 200, hot_pixels: 40}
  - id: electrons
    use: calib.electrons
    with: {black_level: 100}
  - id: cosmics
    use: calib.cosmic_rays
  - id: full_mask
    use: npy.write
    with: {dir: mask, array: cosmic_ray_mask, name: "full.npy"}
  - id: scale
    use: image.scale
    from: cosmics
    with: {mode: asinh, output: u8}
  - id: label
    use: tile.label
    with: {data_type: noisy, scene_prefix: astro_}
  - id: tiles
    use: tile.grid
    with: {tile_size: 64, mode: cover}
  - id: split
    use: tile.split
  - id: write
    use: tile.write
)";

// Every tile's mask PNG is the crop of the full mask (255 where set), padding 0; counts agree.
const char* kCheckMasks = R"(
import json, os, sys, numpy as np
from PIL import Image
out = sys.argv[1]
full = np.load(os.path.join(out, 'mask', 'full.npy'))
assert full.sum() > 0, 'no pixel flagged: the test cannot check anything'
records = [json.loads(l) for l in open(os.path.join(out, 'tiles_metadata.jsonl'))]
assert len(records) == 5 * 4, len(records)
covered = np.zeros_like(full)
for r in records:
    assert r['mask_paths']['cosmic_ray_mask'] == 'cosmic_ray_mask/' + r['png_path'], r['mask_paths']
    path = os.path.join(out, r['mask_paths']['cosmic_ray_mask'])
    m = np.asarray(Image.open(path))
    assert m.shape == (64, 64) and m.dtype == np.uint8 and set(np.unique(m)) <= {0, 255}, (path, m.shape)
    y, x = r['image_y'], r['image_x']
    crop = full[y:y + 64, x:x + 64]
    assert ((m[:crop.shape[0], :crop.shape[1]] == 255) == (crop != 0)).all(), path
    assert int((m == 255).sum()) == r['mask_pixels']['cosmic_ray_mask']
    covered[y:y + 64, x:x + 64] |= (m[:crop.shape[0], :crop.shape[1]] == 255)
assert (covered == (full != 0)).all()
print('flagged', int(full.sum()), 'tiles', len(records))
)";

} // namespace

TEST_CASE("tile set: the cosmic-ray mask is cut with the tiles and written as a PNG per tile", "[tile][e2e]") {
  if (!e2e::have_python("numpy, PIL")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy and PIL");
    return;
  }
  e2e::TempDir dir("tile-masks");
  e2e::write_text(dir.path() / "masks.yaml", kMasks);
  const auto r = lumen({"run", (dir.path() / "masks.yaml").string(), "--run-dir", (dir.path() / "run").string(),
                        "--no-progress", "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto check = e2e::shell("/usr/bin/python3 -c " + e2e::quote(kCheckMasks) + " " +
                                e2e::quote((dir.path() / "run" / "outputs").string()));
  INFO(check.output);
  CHECK(check.exit_code == 0);
}
