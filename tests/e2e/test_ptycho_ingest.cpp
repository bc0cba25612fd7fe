// End-to-end: areaDetector HDF5 in, standardized file out, through the real `lumen` binary.
// pipelines/ptycho-make-scan.yaml writes a synthetic scan as an NDFileHDF5-like file
// (synth.ptycho_scan -> ptycho.write_ad); pipelines/ptycho-ingest.yaml ingests it with the minimal
// layout; h5py reads the result as a reconstruction code would: frames = positions, the ROI shape,
// the positions of the synthetic scan, units; the whole ingest equals the direct synthetic pipeline
// (ptycho-ingest-demo.yaml, no file in between); rotate 90 / flip h equal numpy.rot90 / fliplr of
// the rotate 0 output; and the real PETRA III CXI file through pipelines/ptycho-ingest-cxi.yaml.
// (Flat memory on a 9000-frame scan is measured by bench/ptycho/ptycho_bench.sh.)
#include "run_lumen.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const std::string kSource = LUMEN_SOURCE_DIR;
const std::string kMakeScan = kSource + "/pipelines/ptycho-make-scan.yaml";
const std::string kIngest = kSource + "/pipelines/ptycho-ingest.yaml";
const std::string kIngestCxi = kSource + "/pipelines/ptycho-ingest-cxi.yaml";
const std::string kDemo = kSource + "/pipelines/ptycho-ingest-demo.yaml";
const std::string kMinimal = kSource + "/plugins/ptycho/layouts/minimal.xml";

e2e::Result run(const std::string& pipeline, std::vector<std::string> args, const fs::path& run_dir) {
  args.insert(args.begin(), {"run", pipeline});
  args.insert(args.end(), {"--run-dir", run_dir.string(), "--no-progress"});
  return lumen(args);
}

int python(const std::string& script, const std::vector<fs::path>& files) {
  std::string cmd = "/usr/bin/python3 -c " + e2e::quote(script);
  for (const auto& f : files) cmd += " " + e2e::quote(f.string());
  const auto r = e2e::shell(cmd);
  UNSCOPED_INFO(r.output);
  return r.exit_code;
}

// 12 positions x 2 exposures of 64 x 64, bright enough to saturate the centre.
const std::vector<std::string> kScan = {"--set", "vars.positions=12", "--set", "vars.size=64",
                                        "--set", "vars.photons=4e6"};

// The areaDetector-like scan, made once per test case in `dir`.
fs::path make_scan(const fs::path& dir) {
  const auto r = run(kMakeScan, kScan, dir / "scan");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path file = dir / "scan" / "outputs" / "ptycho_scan.h5";
  REQUIRE(fs::exists(file));
  return file;
}

// ptycho-ingest.yaml on `scan` with the minimal layout (positions by NDAttribute name), 2 exposures
// summed per position, sat 60000, plus `extra`; returns the output file.
fs::path ingest(const fs::path& scan, const fs::path& run_dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--set", "vars.input=" + scan.string(), "--set", "vars.layout=" + kMinimal,
                                   "--set", "vars.pos_x_path=PosX",        "--set", "vars.pos_y_path=PosY",
                                   "--set", "vars.frames_per_pos=2",       "--set", "vars.sat=60000"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run(kIngest, args, run_dir);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path out = run_dir / "outputs" / "ptycho_scan_std.h5";
  REQUIRE(fs::exists(out));
  return out;
}

} // namespace

TEST_CASE("ptycho ingest: make-scan -> ingest with the minimal layout, read back with h5py", "[ptycho][e2e][ingest]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-ingest");
  const fs::path scan = make_scan(dir.path());
  // The areaDetector-like input: u16 frames where minimal.xml puts them, NDAttributes with units.
  CHECK(python(R"(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
def u(d): v = d.attrs['units']; return v if isinstance(v, str) else v.decode()
d = f['entry/data/data']
ok = (d.shape == (24, 64, 64) and d.dtype == np.uint16 and d.chunks == (1, 64, 64)
      and f['entry/scan/pos_x'].shape == (24,) and u(f['entry/scan/pos_x']) == 'um'
      and u(f['entry/NDAttributes/Energy']) == 'eV' and u(f['entry/NDAttributes/DetDistance']) == 'mm'
      and (f['entry/NDAttributes/DetDistance'][()] == 2000.0).all() and d[()].max() == 60000
      and f['entry/calib/dark'].shape == (64, 64))
sys.exit(0 if ok else 1)
)",
               {scan}) == 0);

  const fs::path out =
      ingest(scan, dir.path() / "ingest", {"--set", "vars.roi=[48, 40]", "--set", "vars.frames_per_item=100"});
  // The same scan straight from the synthetic source (no file in between) must give the same file:
  // frames_per_item 100 reads the 24 frames as one block, as synth.ptycho_scan makes them in the
  // demo (the saturation mask of ptycho.dark_flat is per block, so equal blocks give equal frames).
  const auto demo = run(kDemo,
                        {"--set", "vars.positions=12", "--set", "vars.size=64", "--set", "vars.photons=4e6", "--set",
                         "vars.roi=[48, 40]", "--set", "vars.sat=60000"},
                        dir.path() / "demo");
  INFO(demo.output);
  REQUIRE(demo.exit_code == 0);
  CHECK(python(R"(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); e = f['entry']
ad = h5py.File(sys.argv[2], 'r')
g = h5py.File(sys.argv[3], 'r')['entry']
def u(n): v = e[n].attrs['units']; return v if isinstance(v, str) else v.decode()
# 24 frames, 2 exposures per position -> 12 positions; each position = the first frame's row.
x_um = ad['entry/scan/pos_x'][()][::2]; y_um = ad['entry/scan/pos_y'][()][::2]
checks = {
  'shape': e['data'].shape == (12, 48, 40) and e['data'].dtype == np.float32,
  'frames = positions': e['pos'].shape == (12, 2) and e['posx_m'].shape == (12,),
  'positions (synth, via um)': np.allclose(e['posx_m'][()], x_um * 1e-6, rtol=1e-12, atol=0)
                               and np.allclose(e['posy_m'][()], y_um * 1e-6, rtol=1e-12, atol=0),
  'positions = direct synth': np.allclose(e['pos'][()], g['pos'][()], rtol=1e-12, atol=1e-20),
  'positions spread': np.ptp(e['posx_m'][()]) > 0 and np.ptp(e['posy_m'][()]) > 0,
  'units': u('posx_m') == 'm' and u('pos') == 'm' and u('energy_eV') == 'eV' and u('det_dist_m') == 'm'
           and u('pixel_m') == 'm' and u('exposure_s') == 's',
  'scalars': abs(e['energy_eV'][()] - 700) < 1e-9 and abs(e['det_dist_m'][()] - 2.0) < 1e-12
             and abs(e['pixel_m'][()] - 75e-6) < 1e-18 and abs(e['exposure_s'][()] - 0.2) < 1e-12,
  'data = direct synth': np.array_equal(e['data'][()], g['data'][()]),
  'mask = direct synth': np.array_equal(e['mask'][()], g['mask'][()]) and e['mask'][()].sum() > 0,
  'dark, flat': np.array_equal(e['dark'][()], g['dark'][()]) and np.array_equal(e['flat'][()], g['flat'][()]),
  'provenance': e.attrs['grouping'] in ('sum', b'sum') and list(e.attrs['roi_shape']) == [48, 40],
}
bad = [k for k, v in checks.items() if not v]
print('failed:', bad)
sys.exit(1 if bad else 0)
)",
               {out, scan, dir.path() / "demo" / "outputs" / "ptycho_scan_std.h5"}) == 0);

  // CXI 1.6 output from the same input.
  const fs::path cxi = ingest(scan, dir.path() / "cxi", {"--set", "vars.roi=[48, 40]", "--set", "vars.layout_out=cxi"});
  CHECK(python(R"(
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], 'r'); d = f['entry_1/instrument_1/detector_1']
t = f['entry_1/sample_1/geometry_1/translation'][()]
ok = f['cxi_version'][()] == 160 and d['data'].shape == (12, 48, 40) and t.shape == (12, 3)
sys.exit(0 if ok else 1)
)",
               {cxi}) == 0);
}

TEST_CASE("ptycho ingest: rotate and flip through the whole pipeline equal numpy on the rotate 0 output",
          "[ptycho][e2e][ingest][orient]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-orient");
  const fs::path scan = make_scan(dir.path());
  // An off-centre, non-square ROI: the crop itself is asymmetric, and so is the dark's gradient.
  // Blocks of 8 frames: the scan streams.
  const std::vector<std::string> roi = {"--set", "vars.roi=[40, 28]",     "--set", "vars.roi_center=[30, 36]",
                                        "--set", "vars.frames_per_item=8"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.begin(), roi.begin(), roi.end());
    return more;
  };
  const fs::path r0 = ingest(scan, dir.path() / "r0", with({}));
  const fs::path r90 = ingest(scan, dir.path() / "r90", with({"--set", "vars.rotate=90"}));
  const fs::path r90h = ingest(scan, dir.path() / "r90h", with({"--set", "vars.rotate=90", "--set", "vars.flip=h"}));
  const fs::path r270v = ingest(scan, dir.path() / "r270v", with({"--set", "vars.rotate=270", "--set", "vars.flip=v"}));
  CHECK(python(R"(
import sys, h5py, numpy as np
def load(p):
    e = h5py.File(p, 'r')['entry']
    return {k: e[k][()] for k in ('data', 'mask', 'dark', 'flat', 'pos')}
a, b, c, d = (load(p) for p in sys.argv[1:5])
def frames(x, f): return np.stack([f(im) for im in x]) if x.ndim == 3 else f(x)
ok = True
for k in ('data', 'mask', 'dark', 'flat'):
    ok &= np.array_equal(b[k], frames(a[k], np.rot90))
    ok &= np.array_equal(c[k], frames(a[k], lambda im: np.fliplr(np.rot90(im))))
    ok &= np.array_equal(d[k], frames(a[k], lambda im: np.flipud(np.rot90(im, 3))))
ok &= a['data'].shape == (12, 40, 28) and b['data'].shape == (12, 28, 40)
ok &= not np.array_equal(a['dark'], a['dark'][::-1, ::-1]) and not np.array_equal(a['data'][0], a['data'][0][::-1, :])
ok &= np.array_equal(a['pos'], b['pos'])  # orientation never moves the scan positions
sys.exit(0 if ok else 1)
)",
               {r0, r90, r90h, r270v}) == 0);
}

TEST_CASE("ptycho ingest: the real PETRA III P25 CXI file through ptycho-ingest-cxi.yaml",
          "[ptycho][e2e][ingest][real]") {
  const fs::path file = e2e::shared_data("ptycho") / "PETRAIII_P25_Near_Field_Ptycho.cxi";
  if (!fs::exists(file)) {
    WARN("SKIPPED: needs " + file.string());
    return;
  }
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-cxi-real");
  const auto r = run(kIngestCxi,
                     {"--set", "vars.input=" + file.string(), "--set", "vars.roi=[64, 64]", "--set",
                      "vars.grouping=none", "--set", "vars.frames_per_item=64"},
                     dir.path() / "run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path out = dir.path() / "run" / "outputs" / "PETRAIII_P25_Near_Field_Ptycho_std.h5";
  REQUIRE(fs::exists(out));
  CHECK(python(R"(
import sys, h5py, numpy as np
e = h5py.File(sys.argv[1], 'r')['entry']
s = h5py.File(sys.argv[2], 'r')['entry_1']
det = s['instrument_1/detector_1']
t = s['sample_1/geometry_1/translation'][()].astype(np.float64)
raw = det['data'][:, 18:82, 18:82].astype(np.float32)   # the centred 64 x 64 crop of 100 x 100
m = det['mask'][18:82, 18:82] != 0
checks = {
  'shape': e['data'].shape == (200, 64, 64),
  'positions': np.array_equal(e['posx_m'][()], t[:, 0]) and np.array_equal(e['posy_m'][()], t[:, 1]),
  'distance': e['det_dist_m'][()] == np.float64(det['distance'][()]),
  'pixel': e['pixel_m'][()] == np.float64(det['x_pixel_size'][()]),
  'energy': abs(e['energy_eV'][()] - np.float64(s['instrument_1/source_1/energy'][()]) / 1.602176634e-19) < 1e-6,
  'mask': np.array_equal(e['mask'][()] != 0, m),
  'data': np.array_equal(e['data'][()][:, ~m], raw[:, ~m]),
}
bad = [k for k, v in checks.items() if not v]
print('failed:', bad)
sys.exit(1 if bad else 0)
)",
               {out, file}) == 0);
}
