// End-to-end: pipelines/ptycho-qc.yaml through the real `lumen` binary. A synthetic scan is ingested
// (pipelines/ptycho-ingest-demo.yaml -> a standardized file), numpy + h5py corrupt 8 frames of it in
// known ways (intensity drop, shifted beam, hot line, blank frame); the QC must rank them at the top
// (recall within the top 16 >= 0.9), and numpy reads every npy output with the right shape and dtype,
// the CSV columns, qc_meta.json and ptypy_indices.json. Each reject mode and the rect / circ regions
// through the pipeline's vars; two reject modes, a wrong data_path and a missing file fail clearly;
// ptypy_indices.json is consumed by pipelines/ptycho-ingest.yaml (vars.exclude); the real PETRA III
// CXI file runs through (skipped when ../shared/data is absent).
#include "run_lumen.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const std::string kSource = LUMEN_SOURCE_DIR;
const std::string kQc = kSource + "/pipelines/ptycho-qc.yaml";
const std::string kDemo = kSource + "/pipelines/ptycho-ingest-demo.yaml";
const std::string kMakeScan = kSource + "/pipelines/ptycho-make-scan.yaml";
const std::string kIngest = kSource + "/pipelines/ptycho-ingest.yaml";
const std::string kMinimal = kSource + "/plugins/ptycho/layouts/minimal.xml";

e2e::Result run(const std::string& pipeline, std::vector<std::string> args, const fs::path& run_dir) {
  args.insert(args.begin(), {"run", pipeline});
  args.insert(args.end(), {"--run-dir", run_dir.string(), "--no-progress"});
  return lumen(args);
}

int python(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "/usr/bin/python3 -c " + e2e::quote(script);
  for (const auto& a : args) cmd += " " + e2e::quote(a);
  const auto r = e2e::shell(cmd);
  UNSCOPED_INFO(r.output);
  return r.exit_code;
}

// The corrupted frames of corrupt(): 2 of each kind.
const std::string kBad = "[5, 50, 12, 61, 20, 70, 33, 77]";

// An 80-frame standardized file of 64 x 64 frames with kBad corrupted, in dir/scan_std.h5.
fs::path corrupted_std(const fs::path& dir) {
  const auto r = run(kDemo,
                     {"--set", "vars.positions=80", "--set", "vars.frames_per_pos=1", "--set", "vars.size=64", "--set",
                      "vars.roi=[64, 64]", "--set", "vars.photons=2e6"},
                     dir / "ingest");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path clean = dir / "ingest" / "outputs" / "ptycho_scan_std.h5";
  const fs::path out = dir / "scan_std.h5";
  REQUIRE(python(R"(
import sys, shutil, h5py, numpy as np
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], 'r+') as f:
    d = f['entry/data']
    for i in (5, 50): d[i] = d[i] * 0.2                            # intensity drop
    for i in (12, 61): d[i] = np.roll(d[i], (7, 5), axis=(0, 1))  # shifted beam
    for i in (20, 70): x = d[i]; x[10, :] = 60000; d[i] = x       # hot detector line
    for i in (33, 77): d[i] = np.zeros_like(d[i])                 # blank frame
)",
                 {clean.string(), out.string()}) == 0);
  return out;
}

e2e::Result qc(const fs::path& input, const fs::path& run_dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "--set", "vars.input=" + input.string(), "--set", "vars.embed_side=16", "--set", "vars.thumbs=4"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(kQc, args, run_dir);
}

} // namespace

TEST_CASE("ptycho QC: corrupted frames of a synthetic scan rank at the top, every output readable",
          "[ptycho][e2e][qc]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-qc");
  const fs::path scan = corrupted_std(dir.path());
  const auto r = qc(scan, dir.path() / "qc", {"--set", "vars.reject_thresh=0", "--set", "vars.reject_topk=16"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path out = dir.path() / "qc" / "outputs";
  CHECK(python(R"(
import sys, json, csv, os, numpy as np, h5py
out, scan, bad = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
L = lambda n: np.load(os.path.join(out, n))
score = L('outlier_score.npy')
for n in ('outlier_score.npy', 'stxm.npy', 'dpcx.npy', 'dpcy.npy'):
    a = L(n); assert a.shape == (80,) and a.dtype == np.float64, (n, a.shape, a.dtype)
rej, acc, msk = L('reject_indices.npy'), L('accept_indices.npy'), L('mask_indices.npy')
assert rej.dtype == np.int32 and acc.dtype == np.int32 and msk.dtype == np.int32
assert rej.shape == (16,) and acc.shape == (64,) and msk.shape == (0,), (rej.shape, acc.shape, msk.shape)
assert sorted(np.concatenate([rej, acc]).tolist()) == list(range(80))
top = np.argsort(-score, kind='stable')[:16]
assert set(top.tolist()) == set(rej.tolist())
recall = len(set(bad) & set(top.tolist())) / len(bad)
print('recall', recall, 'top', sorted(top.tolist()))
assert recall >= 0.9, recall
assert ((score >= 0) & (score < 1)).all()
f = h5py.File(scan, 'r')
good = f['entry/mask'][()] == 0  # bad detector pixels count as 0, the rest clamped at 0
s = (np.maximum(f['entry/data'][()], 0) * good).sum(axis=(1, 2), dtype=np.float64)
assert np.allclose(L('stxm.npy'), np.log1p(np.maximum(s, 0)), rtol=1e-6)
rows = list(csv.reader(open(os.path.join(out, 'qc_summary.csv'))))
assert rows[0] == ['index', 'x', 'y', 'total_intensity', 'com_x', 'com_y', 'ring_0', 'ring_1', 'ring_2', 'ring_3',
                   'speckle_contrast', 'similarity', 'pca_error', 'feature_dev', 'pca_dev', 'score', 'masked',
                   'rejected'], rows[0]
assert len(rows) == 81
pos = f['entry/pos'][()]
assert np.allclose([float(r[1]) for r in rows[1:]], pos[:, 0], rtol=1e-8)
assert sorted(int(r[0]) for r in rows[1:] if r[17] == '1') == sorted(rej.tolist())
meta = json.load(open(os.path.join(out, 'qc_meta.json')))
assert meta['frames'] == 80 and meta['counts']['rejected'] == 16 and meta['parameters']['reject_topk'] == 16
assert meta['input'] == os.path.abspath(scan)
pj = json.load(open(os.path.join(out, 'ptypy_indices.json')))
try:
    import jsonschema  # python3-jsonschema >= 4 (draft 2020-12)
    schemas = os.path.join(sys.argv[4], 'schemas')
    for name, doc in (('ptycho_qc_meta', meta), ('ptycho_qc_indices', pj)):
        jsonschema.Draft202012Validator(json.load(open(os.path.join(schemas, name + '.schema.json')))).validate(doc)
except ImportError:
    print('jsonschema missing: schemas not checked')
assert pj['frames'] == 80 and sorted(pj['rejected']) == sorted(rej.tolist()) and pj['data_path'] == '/entry/data'
assert os.path.getsize(os.path.join(out, 'qc_maps.png')) > 10000
assert len([n for n in os.listdir(os.path.join(out, 'thumbs')) if n.endswith('.png')]) == 4
)",
               {out.string(), scan.string(), kBad, LUMEN_SOURCE_DIR}) == 0);
}

TEST_CASE("ptycho QC: reject modes and regions through the pipeline's vars", "[ptycho][e2e][qc]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-qc-modes");
  const fs::path scan = corrupted_std(dir.path());
  const std::string off = "vars.reject_thresh=0";
  SECTION("reject_topp 0.1: ceil(0.1 x 80) = 8 frames, the highest scores") {
    const auto r = qc(scan, dir.path() / "p", {"--set", off, "--set", "vars.reject_topp=0.1"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(python(R"(
import sys, numpy as np
s = np.load(sys.argv[1] + '/outlier_score.npy'); r = np.load(sys.argv[1] + '/reject_indices.npy')
assert r.shape == (8,) and set(r.tolist()) == set(np.argsort(-s, kind='stable')[:8].tolist())
)",
                 {(dir.path() / "p" / "outputs").string()}) == 0);
  }
  SECTION("reject_thresh (the pipeline's default 0.5): exactly the scores >= T") {
    const auto r = qc(scan, dir.path() / "t", {});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(python(R"(
import sys, numpy as np
s = np.load(sys.argv[1] + '/outlier_score.npy'); r = np.load(sys.argv[1] + '/reject_indices.npy')
assert sorted(r.tolist()) == np.flatnonzero(s >= 0.5).tolist() and len(r) >= 6, (r, s.max())
)",
                 {(dir.path() / "t" / "outputs").string()}) == 0);
  }
  SECTION("rect and circ: frames outside are masked, never rejected, listed in mask_indices.npy") {
    // Regions around the centre of the spiral (positions within about 3e-5 m of it).
    for (const std::string region : {"rect", "circ"}) {
      const std::string value = region == "rect" ? "[0, 0, 3e-5, 2.4e-5]" : "[0, 0, 2e-5]";
      const fs::path run_dir = dir.path() / region;
      const auto r =
          qc(scan, run_dir, {"--set", off, "--set", "vars.reject_topk=5", "--set", "vars." + region + "=" + value});
      INFO(r.output);
      REQUIRE(r.exit_code == 0);
      CHECK(python(R"(
import sys, json, numpy as np, h5py
out, region, v = sys.argv[1], sys.argv[2], json.loads(sys.argv[4])
x, y = h5py.File(sys.argv[3], 'r')['entry/pos'][()].T
inside = (np.abs(x - v[0]) <= v[2] / 2) & (np.abs(y - v[1]) <= v[3] / 2) if region == 'rect' else np.hypot(x - v[0], y - v[1]) <= v[2]
m, r, a = (np.load(out + n) for n in ('/mask_indices.npy', '/reject_indices.npy', '/accept_indices.npy'))
assert m.tolist() == np.flatnonzero(~inside).tolist(), (region, m)
assert 0 < len(m) < 80 and len(r) == 5 and not set(r) & set(m)
assert sorted(np.concatenate([r, a, m]).tolist()) == list(range(80))
s = np.load(out + '/outlier_score.npy')
ev = np.flatnonzero(inside)
assert set(r.tolist()) == set(ev[np.argsort(-s[ev], kind='stable')[:5]].tolist())
)",
                   {(run_dir / "outputs").string(), region, scan.string(), value}) == 0);
    }
  }
}

TEST_CASE("ptycho QC: bad parameters and paths fail clearly, writing nothing", "[ptycho][e2e][qc]") {
  e2e::TempDir dir("ptycho-qc-errors");
  const fs::path scan = dir.path() / "scan_std.h5";
  {
    const auto r = run(kDemo, {"--set", "vars.positions=10", "--set", "vars.size=48", "--set", "vars.roi=[48, 48]"},
                       dir.path() / "ingest");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    fs::copy_file(dir.path() / "ingest" / "outputs" / "ptycho_scan_std.h5", scan);
  }
  SECTION("two reject modes: a configuration error before anything runs") {
    const auto r = qc(scan, dir.path() / "two", {"--set", "vars.reject_topk=3"});
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("give at most one reject mode") != std::string::npos);
    CHECK(r.output.find("reject_topk 3 and reject_thresh 0.5") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.path() / "two" / "outputs" / "qc_meta.json"));
  }
  SECTION("a data_path not in the file: the file, the path and the datasets of rank 3") {
    const auto r = qc(scan, dir.path() / "path", {"--set", "vars.data_path=/entry/frames"});
    INFO(r.output);
    CHECK(r.exit_code == 2);
    const auto failed = e2e::events(dir.path() / "path", "item_failed");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].find("data_path '/entry/frames' is not a dataset of this file") != std::string::npos);
    CHECK(failed[0].find("/entry/data (10, 48, 48)") != std::string::npos);
    CHECK(failed[0].find("scan_std.h5") != std::string::npos);
    CHECK(e2e::count_files(dir.path() / "path" / "outputs", ".npy") == 0);
  }
  SECTION("pos_x_path without pos_y_path") {
    const auto r = qc(scan, dir.path() / "posx", {"--set", "vars.pos_x_path=/entry/posx_m"});
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("pos_x_path and pos_y_path go together") != std::string::npos);
  }
  SECTION("a missing input file") {
    const auto r = qc(dir.path() / "nope.h5", dir.path() / "missing", {});
    CHECK(r.exit_code != 0);
    CHECK(r.output.find("nope.h5") != std::string::npos);
  }
}

TEST_CASE("ptycho QC: ptypy_indices.json is consumed by the ingest (vars.exclude)", "[ptycho][e2e][qc][exclude]") {
  if (!e2e::have_python("h5py, numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  e2e::TempDir dir("ptycho-qc-exclude");
  // An areaDetector-like scan of 12 positions x 2 exposures, ingested (2 exposures summed; no
  // saturation mask: ptycho.dark_flat masks saturation per block, and exclusion changes the blocks).
  auto r = run(kMakeScan, {"--set", "vars.positions=12", "--set", "vars.size=64", "--set", "vars.photons=4e6"},
               dir.path() / "scan");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path raw = dir.path() / "scan" / "outputs" / "ptycho_scan.h5";
  const std::vector<std::string> ingest_args = {
      "--set", "vars.input=" + raw.string(), "--set", "vars.layout=" + kMinimal, "--set", "vars.pos_x_path=PosX",
      "--set", "vars.pos_y_path=PosY",       "--set", "vars.frames_per_pos=2",   "--set", "vars.sat=0",
      "--set", "vars.roi=[48, 48]"};
  r = run(kIngest, ingest_args, dir.path() / "std");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path std_file = dir.path() / "std" / "outputs" / "ptycho_scan_std.h5";
  // QC of the standardized (grouped) file: 3 positions rejected.
  r = qc(std_file, dir.path() / "qc", {"--set", "vars.reject_thresh=0", "--set", "vars.reject_topk=3"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path json = dir.path() / "qc" / "outputs" / "ptypy_indices.json";
  REQUIRE(fs::exists(json));
  // The raw scan again, without the rejected positions (indices of positions: 12 x 2 = 24 frames).
  auto args = ingest_args;
  args.insert(args.end(), {"--set", "vars.exclude=" + json.string()});
  r = run(kIngest, args, dir.path() / "excluded");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(python(R"(
import sys, json, h5py, numpy as np
full, part = (h5py.File(p, 'r')['entry'] for p in sys.argv[1:3])
rej = json.load(open(sys.argv[3]))['rejected']
keep = [i for i in range(12) if i not in rej]
assert len(rej) == 3 and part['data'].shape == (9, 48, 48), part['data'].shape
assert np.array_equal(part['pos'][()], full['pos'][()][keep])
assert np.array_equal(part['data'][()], full['data'][()][keep])
)",
               {std_file.string(), (dir.path() / "excluded" / "outputs" / "ptycho_scan_std.h5").string(),
                json.string()}) == 0);
}

TEST_CASE("ptycho QC: the real PETRA III CXI file runs through", "[ptycho][e2e][qc][shared]") {
  const fs::path cxi = e2e::shared_data("ptycho") / "PETRAIII_P25_Near_Field_Ptycho.cxi";
  if (!fs::exists(cxi)) {
    WARN("SKIPPED: " + cxi.string() + " is absent");
    return;
  }
  e2e::TempDir dir("ptycho-qc-cxi");
  const auto r = run(kQc,
                     {"--set", "vars.input=" + cxi.string(), "--set", "vars.reject_thresh=0", "--set",
                      "vars.reject_topp=0.05", "--set", "vars.bin=2"},
                     dir.path() / "qc");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path out = dir.path() / "qc" / "outputs";
  const std::string meta = e2e::read_text(out / "qc_meta.json");
  CHECK(meta.find("\"frames\": 200") != std::string::npos);
  CHECK(meta.find("/entry_1/instrument_1/detector_1/data") != std::string::npos);
  CHECK(meta.find("\"mask_path\": \"/entry_1/instrument_1/detector_1/mask\"") != std::string::npos); // found
  CHECK(meta.find("\"rejected\": 10") != std::string::npos);
  for (const char* name :
       {"outlier_score.npy", "stxm.npy", "dpcx.npy", "dpcy.npy", "reject_indices.npy", "accept_indices.npy",
        "mask_indices.npy", "qc_summary.csv", "qc_maps.png", "ptypy_indices.json", "thumbs/index.html"})
    CHECK(fs::exists(out / name));
  if (e2e::have_python("numpy"))
    CHECK(python("import sys, numpy as np; s = np.load(sys.argv[1]); assert s.shape == (200,) and np.isfinite(s).all()",
                 {(out / "outlier_score.npy").string()}) == 0);
}
