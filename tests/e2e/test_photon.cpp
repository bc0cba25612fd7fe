// End-to-end: the photon codec through the real `lumen` binary and the shipped pipelines. A
// synthetic movie (known gain and zero level) is written as .npy, HDF5 and TIFF; compressed with
// pipelines/photon-compress.yaml; restored with pipelines/photon-restore.yaml; and checked with
// numpy against the original: the error bound, bit-exactness at beta 0, partial restores,
// inversion by zarr-python from .zattrs alone, and clear failures for bad input and config.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const std::string kSource = LUMEN_SOURCE_DIR;
const std::string kCompress = kSource + "/pipelines/photon-compress.yaml";
const std::string kRestore = kSource + "/pipelines/photon-restore.yaml";

// 230 frames (not a multiple of the 100-frame chunks) of 96 x 80, gain 2.5, zero level 100, with
// the cell density of the default 256 x 256 movie (5 cells).
std::string make_movie_pipeline(const std::string& writer) {
  return "pipeline: make-movie\nversion: 1\nstages:\n  - id: movie\n    use: synth.photon_movie\n"
         "    with: {frames: 230, width: 80, height: 96, cells: 5, gain: 2.5, zero_level: 100, frames_per_item: 230}\n"
         "  - id: save\n" +
         writer;
}

// Runs `lumen run ARGS...` and returns the result, with its output in the test log on failure.
e2e::Result run(std::vector<std::string> args) {
  args.insert(args.begin(), "run");
  args.emplace_back("--no-progress");
  return lumen(args);
}

fs::path make_movie(const fs::path& dir, const std::string& writer, const std::string& name) {
  e2e::write_text(dir / (name + ".yaml"), make_movie_pipeline(writer));
  const auto r = run({(dir / (name + ".yaml")).string(), "--run-dir", (dir / name).string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return dir / name / "outputs";
}

fs::path store_of(const fs::path& run_dir, const std::string& stem) {
  return run_dir / "outputs" / "lumen" / "movies" / ("movie=" + stem) / "data.zarr";
}

// Runs a numpy check script (argv[1..]) and returns its exit code; 77 means "skip".
int python(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "/usr/bin/python3 -c " + e2e::quote(script);
  for (const auto& a : args) cmd += " " + e2e::quote(a);
  const auto r = e2e::shell(cmd);
  UNSCOPED_INFO(r.output);
  return r.exit_code;
}

// Max |restored - original| in Poisson sigmas (photons at least 1), gain 2.5, zero level 100.
const char* kMaxErrorSigma = R"(
import sys, numpy as np
x = np.load(sys.argv[1]).astype(np.float64); r = np.load(sys.argv[2]).astype(np.float64)
lo, hi = int(sys.argv[4]), int(sys.argv[5])
x = x[lo:hi]
if r.shape != x.shape: print('shape', r.shape, x.shape); sys.exit(1)
z = np.maximum((x - 100) / 2.5, 1)
err = float((np.abs(r - x) / 2.5 / np.sqrt(z)).max())
print('max error', err, 'sigma')
sys.exit(0 if err <= float(sys.argv[3]) else 1)
)";

} // namespace

TEST_CASE("photon-compress and photon-restore round-trip a movie within the error bound", "[photon][e2e]") {
  if (!e2e::have_python("numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy to compare the movies");
    return;
  }
  e2e::TempDir dir("photon-roundtrip");
  const fs::path movie =
      make_movie(dir.path(), "    use: npy.append\n    with: {name: movie.npy}\n", "make") / "movie.npy";

  // Gain and zero level estimated from the movie; beta 0.5.
  const auto compressed = dir.path() / "compressed";
  auto r = run({kCompress, "--set", "vars.input=" + movie.string(), "--run-dir", compressed.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("gain 2.") != std::string::npos); // the estimate is logged
  const fs::path store = store_of(compressed, "movie");
  REQUIRE(fs::exists(store / ".zarray"));
  const std::string attrs = e2e::read_text(store / ".zattrs");
  CHECK(attrs.find("\"photon_codec\": \"anscombe-quantize\"") != std::string::npos);
  CHECK(python("import json, sys; a = json.load(open(sys.argv[1])); "
               "sys.exit(0 if abs(a['photon_gain'] / 2.5 - 1) < 0.05 and abs(a['photon_zero_level'] / 100 - 1) < 0.05 "
               "else 1)",
               {(store / ".zattrs").string()}) == 0);

  // Both metadata files validate against their schemas.
  const auto fit_report = compressed / "artifacts" / "calib" / "movie_gain_fit.json";
  REQUIRE(fs::exists(fit_report));
  if (e2e::have_python("jsonschema")) {
    CHECK(python("import json, sys, jsonschema\n"
                 "for schema, doc in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):\n"
                 "    jsonschema.Draft202012Validator(json.load(open(schema))).validate(json.load(open(doc)))\n",
                 {kSource + "/schemas/photon_store_attrs.schema.json", (store / ".zattrs").string(),
                  kSource + "/schemas/photon_gain_fit.schema.json", fit_report.string()}) == 0);
  } else {
    WARN("SKIPPED: schema validation (no python3-jsonschema)");
  }

  // Full restore, f32: within the bound (0.31 sigma at beta 0.5, plus the 5 % gain error).
  const auto restored = dir.path() / "restored";
  r = run({kRestore, "--set", "vars.input=" + store.string(), "--run-dir", restored.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(python(kMaxErrorSigma,
               {movie.string(), (restored / "outputs" / "restored.npy").string(), "0.34", "0", "230"}) == 0);

  // A range across a chunk boundary reads only what it needs and equals the same frames of the full restore.
  const auto part = dir.path() / "part";
  r = run({kRestore, "--set", "vars.input=" + store.string(), "--set", "vars.frames=[150, 210]", "--run-dir",
           part.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(python("import sys, numpy as np; a = np.load(sys.argv[1]); b = np.load(sys.argv[2]); "
               "sys.exit(0 if a.shape == (60, 96, 80) and np.array_equal(a, b[150:210]) else 1)",
               {(part / "outputs" / "restored.npy").string(), (restored / "outputs" / "restored.npy").string()}) == 0);
}

TEST_CASE("beta 0 with given gain restores the movie bit for bit", "[photon][e2e]") {
  if (!e2e::have_python("numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy to compare the movies");
    return;
  }
  e2e::TempDir dir("photon-exact");
  const fs::path movie =
      make_movie(dir.path(), "    use: npy.append\n    with: {name: movie.npy}\n", "make") / "movie.npy";
  const auto compressed = dir.path() / "compressed";
  auto r = run({kCompress, "--set", "vars.input=" + movie.string(), "--set", "vars.beta=0", "--set", "vars.gain=2.5",
                "--set", "vars.zero_level=100", "--set", "vars.chunk_frames=64", "--run-dir", compressed.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto restored = dir.path() / "restored";
  r = run({kRestore, "--set", "vars.input=" + store_of(compressed, "movie").string(), "--set", "vars.dtype=source",
           "--run-dir", restored.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(python("import sys, numpy as np; a = np.load(sys.argv[1]); b = np.load(sys.argv[2]); "
               "sys.exit(0 if a.dtype == b.dtype == np.uint16 and np.array_equal(a, b) else 1)",
               {movie.string(), (restored / "outputs" / "restored.npy").string()}) == 0);
}

TEST_CASE("HDF5 and TIFF movies give the same store as the .npy movie", "[photon][e2e]") {
  if (!e2e::have_python("numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy to compare the stores");
    return;
  }
  e2e::TempDir dir("photon-formats");
  const auto npy = make_movie(dir.path(), "    use: npy.append\n    with: {name: movie.npy}\n", "npy") / "movie.npy";
  const auto h5 =
      make_movie(dir.path(), "    use: hdf5.append\n    with: {name: movie.h5, dataset: entry/data/data}\n", "h5") /
      "movie.h5";
  const auto tif = make_movie(dir.path(), "    use: tiff.write\n    with: {name: movie.tif}\n", "tif") / "movie.tif";
  std::vector<fs::path> restored;
  for (const auto& input : {npy, h5, tif}) {
    const std::string tag = input.extension().string().substr(1);
    const auto c = dir.path() / ("c-" + tag);
    auto r = run({kCompress, "--set", "vars.input=" + input.string(), "--set", "vars.gain=2.5", "--set",
                  "vars.zero_level=100", "--run-dir", c.string()});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto out = dir.path() / ("r-" + tag);
    r = run({kRestore, "--set", "vars.input=" + store_of(c, "movie").string(), "--run-dir", out.string()});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    restored.push_back(out / "outputs" / "restored.npy");
  }
  CHECK(python("import sys, numpy as np; a, b, c = (np.load(p) for p in sys.argv[1:4]); "
               "sys.exit(0 if a.shape == (230, 96, 80) and np.array_equal(a, b) and np.array_equal(a, c) else 1)",
               {restored[0].string(), restored[1].string(), restored[2].string()}) == 0);
}

TEST_CASE("zarr-python reads a photon store and inverts it from .zattrs alone", "[photon][e2e][python]") {
  if (!e2e::have_python("numpy, zarr")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy and zarr (python3-zarr)");
    return;
  }
  e2e::TempDir dir("photon-python");
  const auto c = dir.path() / "c";
  auto r = run({kSource + "/pipelines/photon-compress-demo.yaml", "--set", "vars.frames=120", "--run-dir", c.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto store = store_of(c, "photon_movie");
  const auto out = dir.path() / "r";
  r = run({kRestore, "--set", "vars.input=" + store.string(), "--run-dir", out.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // The documented inverse: x = ((q * beta / 2)^2 - 3/8 - (read_noise / gain)^2) * gain + zero.
  CHECK(python(R"(
import sys, numpy as np, zarr
z = zarr.open(sys.argv[1], mode='r'); a = z.attrs
q = z[:].astype(np.float64)
s = a['photon_read_noise'] / a['photon_gain']
x = ((q * a['photon_beta'] / 2) ** 2 - 0.375 - s * s) * a['photon_gain'] + a['photon_zero_level']
lumen = np.load(sys.argv[2])
sys.exit(0 if z.dtype == np.uint8 and z.shape == (120, 256, 256) and np.allclose(x, lumen, rtol=1e-5, atol=1e-3) else 1)
)",
               {store.string(), (out / "outputs" / "restored.npy").string()}) == 0);
}

TEST_CASE("bad photon input and config fail clearly", "[photon][e2e][errors]") {
  e2e::TempDir dir("photon-bad");
  const fs::path movie =
      make_movie(dir.path(), "    use: npy.append\n    with: {name: movie.npy}\n", "make") / "movie.npy";

  // A zero level far above the data: negative photon counts, every block fails with the position.
  auto r = run({kCompress, "--set", "vars.input=" + movie.string(), "--set", "vars.gain=2.5", "--set",
                "vars.zero_level=5000", "--run-dir", (dir.path() / "neg").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("photons") != std::string::npos);
  CHECK(r.output.find("negatives: clip") != std::string::npos);
  CHECK_FALSE(fs::exists(store_of(dir.path() / "neg", "movie"))); // no half-written store

  // gain <= 0 is refused before anything runs, naming the pipeline line and the parameter.
  r = run({kCompress, "--set", "vars.input=" + movie.string(), "--set", "vars.gain=-1", "--run-dir",
           (dir.path() / "gain").string()});
  CHECK(r.exit_code != 0);
  CHECK(r.output.find("photon-compress.yaml:") != std::string::npos);
  CHECK(r.output.find("gain") != std::string::npos);
  CHECK(r.output.find("nothing was run") != std::string::npos);

  // Float data with NaN: estimating the gain needs integer counts; with a given gain NaN is named.
  if (e2e::have_python("numpy")) {
    const auto nan = dir.path() / "nan.npy";
    REQUIRE(python("import sys, numpy as np; a = np.full((4, 8, 8), 150, np.float32); a[2, 3, 5] = np.nan; "
                   "np.save(sys.argv[1], a)",
                   {nan.string()}) == 0);
    r = run({kCompress, "--set", "vars.input=" + nan.string(), "--run-dir", (dir.path() / "nan1").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("integer camera counts") != std::string::npos);
    r = run({kCompress, "--set", "vars.input=" + nan.string(), "--set", "vars.gain=1", "--run-dir",
             (dir.path() / "nan2").string()});
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("frame 2, y 3, x 5") != std::string::npos);
  }

  // A 2-D file is not a movie; restore of something that is not a store is a clear error.
  const auto flat = dir.path() / "flat.yaml";
  e2e::write_text(flat,
                  "pipeline: flat\nversion: 1\nstages:\n  - id: sky\n    use: synth.starfield\n"
                  "    with: {width: 16, height: 16}\n  - id: save\n    use: npy.write\n    with: {name: flat.npy}\n");
  REQUIRE(run({flat.string(), "--run-dir", (dir.path() / "flat").string()}).exit_code == 0);
  r = run({kCompress, "--set", "vars.input=" + (dir.path() / "flat" / "outputs" / "flat.npy").string(), "--run-dir",
           (dir.path() / "flat2").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("is not a movie (T, H, W)") != std::string::npos);
  r = run({kRestore, "--set", "vars.input=" + movie.string(), "--run-dir", (dir.path() / "notstore").string()});
  CHECK(r.exit_code != 0);
}
