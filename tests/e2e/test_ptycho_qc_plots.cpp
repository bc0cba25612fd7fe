// End-to-end: the pictures of ptycho.qc_score through the real `lumen` binary. A synthetic scan is
// ingested (pipelines/ptycho-ingest-demo.yaml) and scored; qc_maps.png is decoded by lumen itself
// (png.read -> npy.write) and checked with numpy: its size, many colours, and the reject-ring red
// present with rejects and (apart from the legend's one ring) absent without; thumbs/index.html
// references exactly the thumbnails on disk, in the order of outlier_score.npy, each no larger than
// thumb_side, with no external resource.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const std::string kSource = LUMEN_SOURCE_DIR;
const std::string kDemo = kSource + "/pipelines/ptycho-ingest-demo.yaml";

e2e::Result run(const fs::path& pipeline, std::vector<std::string> args, const fs::path& run_dir) {
  args.insert(args.begin(), {"run", pipeline.string()});
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

// ptycho.qc_score on `input` with `reject_topk`, 6 thumbnails of at most 40 px; returns outputs/.
fs::path score(const fs::path& dir, const fs::path& input, int reject_topk, const std::string& tag) {
  const fs::path yaml = dir / ("qc-" + tag + ".yaml");
  e2e::write_text(yaml, "pipeline: qc-plots-" + tag +
                            "\nversion: 1\nrequires: [ptycho]\nstages:\n"
                            "  - id: qc\n    use: ptycho.qc_score\n    with: {path: " +
                            e2e::quote(input.string()) + ", reject_topk: " + std::to_string(reject_topk) +
                            ", thumbs: 6, thumb_side: 40}\n");
  const auto r = run(yaml, {}, dir / ("qc-" + tag));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return dir / ("qc-" + tag) / "outputs";
}

// qc_maps.png decoded by png.read and written as an .npy array by npy.write.
fs::path decode(const fs::path& dir, const fs::path& png, const std::string& tag) {
  const fs::path yaml = dir / ("decode-" + tag + ".yaml");
  e2e::write_text(yaml, "pipeline: decode-" + tag +
                            "\nversion: 1\nrequires: [png, npy]\nstages:\n"
                            "  - id: in\n    use: png.read\n    with: {path: " +
                            e2e::quote(png.string()) +
                            "}\n  - id: out\n    use: npy.write\n    with: {name: maps.npy}\n");
  const auto r = run(yaml, {}, dir / ("decode-" + tag));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path npy = dir / ("decode-" + tag) / "outputs" / "maps.npy";
  REQUIRE(fs::exists(npy));
  return npy;
}

} // namespace

TEST_CASE("ptycho QC plots: qc_maps.png and the thumbnail gallery of a scored scan", "[ptycho][e2e][qc]") {
  if (!e2e::have_python("numpy")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy");
    return;
  }
  e2e::TempDir dir("ptycho-qc-plots");
  const auto ingest = run(kDemo,
                          {"--set", "vars.positions=120", "--set", "vars.size=64", "--set", "vars.roi=[48, 48]",
                           "--set", "vars.photons=4e6"},
                          dir.path() / "ingest");
  INFO(ingest.output);
  REQUIRE(ingest.exit_code == 0);
  const fs::path scan = dir.path() / "ingest" / "outputs" / "ptycho_scan_std.h5";
  REQUIRE(fs::exists(scan));

  const fs::path with = score(dir.path(), scan, 4, "rejects");
  const fs::path without = score(dir.path(), scan, 0, "clean");
  REQUIRE(fs::exists(with / "qc_maps.png"));
  REQUIRE(fs::exists(without / "qc_maps.png"));

  // The maps: 1600 x 1300 RGB, many colours; rings in the rejected frames' red only with rejects.
  CHECK(python(R"py(
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
def red(x): return int(((x[..., 0] >= 200) & (x[..., 1] <= 40) & (x[..., 2] <= 40)).sum())
colours = len(np.unique(a.reshape(-1, 3).astype(np.uint32) @ np.array([65536, 256, 1], np.uint32)))
print('shape', a.shape, a.dtype, 'colours', colours, 'red with rejects', red(a), 'without', red(b))
ok = (a.shape == (1300, 1600, 3) and b.shape == a.shape and a.dtype == np.uint8 and colours > 300
      and red(a) > 4 * red(b) and red(a) > 200)
sys.exit(0 if ok else 1)
)py",
               {decode(dir.path(), with / "qc_maps.png", "rejects"),
                decode(dir.path(), without / "qc_maps.png", "clean")}) == 0);

  // The gallery: exactly the thumbnails on disk, highest score first, each at most 40 px.
  CHECK(python(R"py(
import sys, re, os, struct, numpy as np
out = sys.argv[1]
html = open(os.path.join(out, 'thumbs', 'index.html'), encoding='utf-8').read()
srcs = re.findall(r'<img src="([^"]+)"', html)
on_disk = sorted(f for f in os.listdir(os.path.join(out, 'thumbs')) if f.endswith('.png'))
score = np.load(os.path.join(out, 'outlier_score.npy'))
top = sorted(range(len(score)), key=lambda i: (-score[i], i))[:6]
sizes = []
for s in srcs:
    with open(os.path.join(out, 'thumbs', s), 'rb') as f:
        head = f.read(24)
    sizes.append(struct.unpack('>II', head[16:24]) if head[:8] == b'\x89PNG\r\n\x1a\n' else (0, 0))
print('srcs', srcs, 'on disk', on_disk, 'top', top, 'sizes', sizes)
ok = (len(srcs) == 6 and sorted(srcs) == on_disk and srcs == ['frame_%d.png' % i for i in top]
      and all(0 < w <= 40 and 0 < h <= 40 for w, h in sizes)
      and all(('#%d<' % i) in html for i in top)
      and 'http' not in html and '<script' not in html and '<link' not in html)
sys.exit(0 if ok else 1)
)py",
               {with}) == 0);
}
