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
