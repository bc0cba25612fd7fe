// End-to-end: the ptychography ingest stages through the real `lumen` binary on a synthetic scan
// (pipelines/ptycho-ingest-demo.yaml): the standardized and CXI files read back with h5py as a
// reconstruction code would, and bad settings failing clearly with no file left behind.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const std::string kDemo = std::string(LUMEN_SOURCE_DIR) + "/pipelines/ptycho-ingest-demo.yaml";

e2e::Result run(std::vector<std::string> args) {
  args.insert(args.begin(), {"run", kDemo});
  args.emplace_back("--no-progress");
  return lumen(args);
}

int python(const std::string& script, const fs::path& file) {
  const auto r = e2e::shell("/usr/bin/python3 -c " + e2e::quote(script) + " " + e2e::quote(file.string()));
  UNSCOPED_INFO(r.output);
  return r.exit_code;
}

const std::vector<std::string> kSmall = {"--set", "vars.positions=16", "--set", "vars.size=64",
                                         "--set", "vars.roi=[48, 40]", "--set", "vars.photons=4e6"};

} // namespace

TEST_CASE("ptycho demo: the standardized file has every key, dtype, shape and unit", "[ptycho][e2e]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-std");
  auto args = kSmall;
  args.insert(args.end(), {"--set", "vars.rotate=90", "--run-dir", (dir.path() / "run").string()});
  const auto r = run(args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path file = dir.path() / "run" / "outputs" / "ptycho_scan_std.h5";
  REQUIRE(fs::exists(file));
  // rotate 90 turns the 48 x 40 ROI into 40 x 48; 32 frames grouped 2 per position -> 16.
  CHECK(python(R"(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); e = f['entry']
def u(n): return e[n].attrs['units'] if isinstance(e[n].attrs['units'], str) else e[n].attrs['units'].decode()
ok = (e['data'].shape == (16, 40, 48) and e['data'].dtype == np.float32 and e['data'].chunks == (1, 40, 48)
      and e['pos'].shape == (16, 2) and e['pos'].dtype == np.float64
      and np.array_equal(e['posx_m'][()], e['pos'][:, 0]) and np.array_equal(e['posy_m'][()], e['pos'][:, 1])
      and e['mask'].dtype == np.uint8 and e['mask'].shape == (40, 48) and e['mask'][()].sum() > 0
      and e['dark'].shape == (40, 48) and e['flat'].shape == (40, 48)
      and e['energy_eV'][()] == 700.0 and e['det_dist_m'][()] == 2.0 and e['pixel_m'][()] == 75e-6
      and u('pos') == 'm' and u('energy_eV') == 'eV' and u('det_dist_m') == 'm'
      and np.ptp(e['pos'][:, 0]) > 0 and np.isfinite(e['data'][()]).all())
sys.exit(0 if ok else 1)
)",
               file) == 0);
}

TEST_CASE("ptycho demo: the CXI 1.6 layout opens as CXI", "[ptycho][e2e]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-cxi");
  auto args = kSmall;
  args.insert(args.end(), {"--set", "vars.layout=cxi", "--run-dir", (dir.path() / "run").string()});
  const auto r = run(args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(python(R"(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); d = f['entry_1/instrument_1/detector_1']
t = f['entry_1/sample_1/geometry_1/translation'][()]
ok = (f['cxi_version'][()] == 160 and d['data'].shape == (16, 48, 40) and t.shape == (16, 3)
      and (t[:, 2] == 0).all() and abs(d['distance'][()] - 2.0) < 1e-12 and abs(d['x_pixel_size'][()] - 75e-6) < 1e-15
      and abs(f['entry_1/instrument_1/source_1/energy'][()] - 700 * 1.602176634e-19) < 1e-25
      and f['entry_1/data_1/data'].shape == (16, 48, 40))
sys.exit(0 if ok else 1)
)",
               dir.path() / "run" / "outputs" / "ptycho_scan_std.h5") == 0);
}

TEST_CASE("ptycho demo: a bad ROI or grouping fails clearly and writes no file", "[ptycho][e2e][errors]") {
  e2e::TempDir dir("ptycho-bad");
  auto args = kSmall;
  args.insert(args.end(), {"--set", "vars.roi=[80, 80]", "--run-dir", (dir.path() / "roi").string()});
  auto r = run(args);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("80") != std::string::npos);
  CHECK(e2e::count_files(dir.path() / "roi" / "outputs", ".h5") == 0);

  // 16 positions x 2 exposures = 32 frames; grouping by 3 leaves a remainder of 2.
  args = kSmall;
  args.insert(args.end(), {"--set", "group.frames_per_pos=3", "--run-dir", (dir.path() / "fpp").string()});
  r = run(args);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("32") != std::string::npos);
  CHECK(r.output.find("remainder") != std::string::npos);
  CHECK(e2e::count_files(dir.path() / "fpp" / "outputs", ".h5") == 0);

  // Configuration errors are caught before anything runs, with the file and line.
  args = kSmall;
  args.insert(args.end(), {"--set", "vars.rotate=45", "--run-dir", (dir.path() / "rot").string()});
  r = run(args);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("ptycho-ingest-demo.yaml:") != std::string::npos);
  CHECK(r.output.find("rotate") != std::string::npos);
}

TEST_CASE("TIFF frames + sidecar ingest equals the direct ingest of the same scan", "[ptycho][e2e]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-tiff");
  const std::string scan = "    use: synth.ptycho_scan\n    with: {positions: 12, frames_per_pos: 1, size: 64, "
                           "photons: 4e6, frames_per_item: 1}\n";
  // The frames as numbered single-page TIFFs, and the scan's positions, scalars, dark and flat in
  // a sidecar (a standardized file of the raw scan names them under /entry).
  e2e::write_text(dir.path() / "frames.yaml", "pipeline: f\nversion: 1\nstages:\n  - id: scan\n" + scan +
                                                  "  - id: save\n    use: tiff.write\n"
                                                  "    with: {dir: frames, name: \"frame_{index}.tif\"}\n");
  e2e::write_text(dir.path() / "sidecar.yaml", "pipeline: s\nversion: 1\nstages:\n  - id: scan\n" + scan +
                                                   "  - id: save\n    use: ptycho.write_std\n"
                                                   "    with: {name: sidecar.h5}\n");
  for (const char* name : {"frames", "sidecar"}) {
    const auto r = lumen({"run", (dir.path() / (std::string(name) + ".yaml")).string(), "--run-dir",
                          (dir.path() / name).string(), "--no-progress"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
  }
  const std::vector<std::string> common = {"--set", "vars.frames_per_pos=1", "--set", "vars.roi=[48, 40]",
                                           "--set", "vars.rotate=270",       "--set", "vars.flip=h"};
  std::vector<std::string> tiff = {
      "run",   std::string(LUMEN_SOURCE_DIR) + "/pipelines/ptycho-ingest-tiff.yaml",
      "--set", "vars.input=" + (dir.path() / "frames" / "outputs" / "frames" / "frame_*.tif").string(),
      "--set", "vars.sidecar=" + (dir.path() / "sidecar" / "outputs" / "sidecar.h5").string(),
      "--set", "vars.sat=60000"};
  for (const char* key : {"pos_x_path=/entry/posx_m", "pos_y_path=/entry/posy_m", "energy_path=/entry/energy_eV",
                          "det_dist_path=/entry/det_dist_m", "pixel_path=/entry/pixel_m",
                          "exposure_path=/entry/exposure_s", "dark_path=/entry/dark", "flat_path=/entry/flat"})
    tiff.insert(tiff.end(), {"--set", std::string("scan.") + key});
  tiff.insert(tiff.end(), common.begin(), common.end());
  tiff.insert(tiff.end(),
              {"--set", "write.name=tiff_std.h5", "--run-dir", (dir.path() / "via-tiff").string(), "--no-progress"});
  auto r = lumen(tiff);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> direct = {"--set", "vars.positions=12", "--set", "vars.size=64",
                                     "--set", "vars.photons=4e6"};
  direct.insert(direct.end(), common.begin(), common.end());
  direct.insert(direct.end(), {"--run-dir", (dir.path() / "direct").string()});
  r = run(direct);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto check = e2e::shell(
      "/usr/bin/python3 -c " +
      e2e::quote("import sys, h5py, numpy as np\n"
                 "a = h5py.File(sys.argv[1], 'r')['entry']; b = h5py.File(sys.argv[2], 'r')['entry']\n"
                 "ok = a['data'].shape == (12, 40, 48) and np.array_equal(a['data'][()], b['data'][()]) "
                 "and np.array_equal(a['pos'][()], b['pos'][()]) and np.array_equal(a['mask'][()], b['mask'][()]) "
                 "and a['energy_eV'][()] == b['energy_eV'][()]\n"
                 "sys.exit(0 if ok else 1)\n") +
      " " + e2e::quote((dir.path() / "via-tiff" / "outputs" / "tiff_std.h5").string()) + " " +
      e2e::quote((dir.path() / "direct" / "outputs" / "ptycho_scan_std.h5").string()));
  INFO(check.output);
  CHECK(check.exit_code == 0);
}
