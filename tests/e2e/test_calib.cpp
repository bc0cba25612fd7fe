// End-to-end: the calib set and image.downsample/scale/to8bit through the real `lumen` binary.
// A synthetic star field (u16 ADU, gain 1.5, bias 100) goes through calib.electrons ->
// calib.cosmic_rays -> image.scale {asinh} -> image.to8bit {fixed} -> png.write, with the
// electrons checked against (ADU - 100) * 1.5 in numpy; an RGGB field through calib.demosaic ->
// image.downsample -> 8-bit RGB PNGs of half size; and bad configurations and inputs fail with
// clear messages (validation before any data, failed items with the stage's reason). A real CCD
// frame from ../shared/data (SAAO 1.0 m, GAIN 1.9, RDNOISE 5.0 in its header) goes through
// calib.electrons and calib.cosmic_rays: the flagged pixels are sharp spikes far above their
// neighbourhood, and they are replaced by it. image.scale {output: u8} writes the same PNGs as
// image.scale + image.to8bit {fixed} (f32 FITS frames read back through fits.read).
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

e2e::Result run(const fs::path& dir, const std::string& name, const std::string& yaml,
                std::vector<std::string> extra = {}) {
  e2e::write_text(dir / (name + ".yaml"), yaml);
  std::vector<std::string> args = {
      "run", (dir / (name + ".yaml")).string(), "--run-dir", (dir / name).string(), "--no-progress", "--threads", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return lumen(args);
}

// Width, height and colour type from a PNG's IHDR.
struct PngHeader {
  std::uint32_t width = 0, height = 0;
  int color_type = -1, bit_depth = -1;
};
PngHeader png_header(const fs::path& file) {
  const std::string s = e2e::read_text(file);
  PngHeader h;
  if (s.size() < 26 || s.compare(12, 4, "IHDR") != 0) return h;
  const auto be32 = [&](std::size_t at) {
    return (std::uint32_t(std::uint8_t(s[at])) << 24) | (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
  };
  h.width = be32(16);
  h.height = be32(20);
  h.bit_depth = std::uint8_t(s[24]);
  h.color_type = std::uint8_t(s[25]);
  return h;
}

const char* kAstro = R"(pipeline: calib-astro
version: 1
stages:
  - id: sky
    use: synth.starfield
    with: {count: 2, width: 300, height: 200, seed: 3, gain_e_per_adu: 1.5, bias_adu: 100, sky_e: 200}
  - id: raw
    use: npy.write
    with: {dir: raw, name: "sky_{index:04d}.npy"}
  - id: electrons
    use: calib.electrons
    from: sky
    with: {black_level: 100}
  - id: e
    use: npy.write
    with: {dir: electrons, name: "sky_{index:04d}.npy"}
  - id: cosmics
    use: calib.cosmic_rays
    from: electrons
  - id: mask
    use: npy.write
    with: {dir: mask, array: cosmic_ray_mask, name: "sky_{index:04d}.npy"}
  - id: scale
    use: image.scale
    from: cosmics
    with: {mode: asinh, low_percentile: 0.5, high_percentile: 99.9, softening: 0.1}
  - id: to8
    use: image.to8bit
    with: {mode: fixed}
  - id: png
    use: png.write
    with: {dir: png, name: "sky_{index:04d}.png"}
)";

const char* kCheckElectrons = R"(
import sys, numpy as np
raw = np.load(sys.argv[1]).astype(np.float64); e = np.load(sys.argv[2]); m = np.load(sys.argv[3])
assert e.dtype == np.float32 and e.shape == raw.shape == (200, 300), (e.dtype, e.shape)
assert np.allclose(e, (raw - 100.0) * 1.5, rtol=1e-6, atol=1e-3), np.abs(e - (raw - 100) * 1.5).max()
assert m.dtype == np.uint8 and m.shape == (200, 300) and set(np.unique(m)) <= {0, 1}
)";

} // namespace

TEST_CASE("calib: star field ADU -> electrons -> cosmic rays -> asinh -> 8-bit PNG", "[calib][e2e]") {
  e2e::TempDir dir("calib-astro");
  const auto r = run(dir.path(), "astro", kAstro);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto out = dir.path() / "astro" / "outputs";
  CHECK(e2e::count_files(out / "png", ".png") == 2);
  const auto h = png_header(out / "png" / "sky_0001.png");
  CHECK(h.width == 300);
  CHECK(h.height == 200);
  CHECK(h.color_type == 0); // grey
  CHECK(h.bit_depth == 8);
  if (!e2e::have_python("numpy")) {
    WARN("SKIPPED: the numpy check of the electrons (no /usr/bin/python3 with numpy)");
    return;
  }
  const auto check = e2e::shell("/usr/bin/python3 -c " + e2e::quote(kCheckElectrons) + " " +
                                e2e::quote((out / "raw" / "sky_0001.npy").string()) + " " +
                                e2e::quote((out / "electrons" / "sky_0001.npy").string()) + " " +
                                e2e::quote((out / "mask" / "sky_0001.npy").string()));
  INFO(check.output);
  CHECK(check.exit_code == 0);
}

TEST_CASE("calib: RGGB mosaic -> electrons -> bilinear RGB -> downsample by 2 -> RGB PNG", "[calib][e2e]") {
  e2e::TempDir dir("calib-photo");
  const auto r = run(dir.path(), "photo", R"(pipeline: calib-photo
version: 1
stages:
  - {id: mosaic, use: synth.starfield, with: {count: 1, width: 64, height: 48, bayer: true, bias_adu: 100}}
  - {id: electrons, use: calib.electrons, with: {black_level: 100}}
  - {id: rgb, use: calib.demosaic, with: {no_cfa: error}}
  - {id: down, use: image.downsample, with: {factor: 2}}
  - {id: scale, use: image.scale, with: {mode: minmax}}
  - {id: to8, use: image.to8bit, with: {mode: fixed}}
  - {id: png, use: png.write, with: {name: "photo.png"}}
)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto h = png_header(dir.path() / "photo" / "outputs" / "photo.png");
  CHECK(h.width == 32);
  CHECK(h.height == 24);
  CHECK(h.color_type == 2); // RGB
}

TEST_CASE("calib: image.scale output u8 writes the same PNGs as image.scale then image.to8bit fixed 0..1",
          "[calib][e2e]") {
  e2e::TempDir dir("calib-scale-u8");
  // f32 FITS frames (read back through fits.read's direct path), gain 1 / black 0 electrons.
  auto r = run(dir.path(), "make", R"(pipeline: make
version: 1
stages:
  - {id: sky, use: synth.starfield, with: {count: 2, width: 700, height: 500, dtype: f32, stars: 300}}
  - {id: save, use: fits.write, with: {name: "sky_{index:04d}.fits"}}
)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string fits = (dir.path() / "make" / "outputs").string();
  for (const std::string mode : {"asinh", "percentile", "minmax"}) {
    const std::string head = "version: 1\nstages:\n  - {id: read, use: fits.read, with: {path: \"" + fits +
                             "\"}}\n  - {id: electrons, use: calib.electrons, with: {gain: 1, black_level: 0, prefer: "
                             "parameters}}\n";
    const std::string scale =
        "  - {id: scale, use: image.scale, with: {mode: " + mode + ", low_percentile: 0.5, high_percentile: 99.9";
    const std::string png = "  - {id: png, use: png.write, with: {name: \"{stem}.png\"}}\n";
    r = run(dir.path(), "two_" + mode,
            "pipeline: two\n" + head + scale + "}}\n  - {id: to8, use: image.to8bit, with: {mode: fixed}}\n" + png);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    r = run(dir.path(), "one_" + mode, "pipeline: one\n" + head + scale + ", output: u8}}\n" + png);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    for (const char* name : {"sky_0000.png", "sky_0001.png"}) {
      INFO(mode << " " << name);
      const std::string a = e2e::read_text(dir.path() / ("two_" + mode) / "outputs" / name);
      const std::string b = e2e::read_text(dir.path() / ("one_" + mode) / "outputs" / name);
      REQUIRE(a.size() > 1000);
      CHECK(a == b);
    }
  }
  r = run(dir.path(), "bad", R"(pipeline: p
version: 1
stages:
  - {id: sky, use: synth.starfield}
  - {id: scale, use: image.scale, with: {output: u16}}
)");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("parameter 'output': \"u16\" is not one of: f32, u8") != std::string::npos);
}

TEST_CASE("calib: bad configurations fail before any data is read, naming the parameter", "[calib][e2e]") {
  e2e::TempDir dir("calib-config");
  auto r = run(dir.path(), "prefer", R"(pipeline: p
version: 1
stages:
  - {id: sky, use: synth.starfield}
  - {id: electrons, use: calib.electrons, with: {prefer: parameters}}
)");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("none of gain, read_noise, black_level is given") != std::string::npos);

  r = run(dir.path(), "softening", R"(pipeline: p
version: 1
stages:
  - {id: sky, use: synth.starfield}
  - {id: scale, use: image.scale, with: {mode: asinh, softening: 0}}
)");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("softening must be > 0") != std::string::npos);

  r = run(dir.path(), "order", R"(pipeline: p
version: 1
stages:
  - {id: sky, use: synth.starfield}
  - {id: cosmics, use: calib.cosmic_rays}
)");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("requires units electrons") != std::string::npos);

  r = run(dir.path(), "mode", R"(pipeline: p
version: 1
stages:
  - {id: sky, use: synth.starfield}
  - {id: scale, use: image.scale, with: {mode: log}}
)");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("minmax") != std::string::npos);
}

TEST_CASE("calib: items without a gain or still a mosaic fail with the reason, the run goes on", "[calib][e2e]") {
  e2e::TempDir dir("calib-items");
  auto r = run(dir.path(), "make", R"(pipeline: make
version: 1
stages:
  - {id: sky, use: synth.starfield, with: {count: 2, width: 40, height: 30}}
  - {id: save, use: npy.write, with: {name: "sky_{index:04d}.npy"}}
)");
  REQUIRE(r.exit_code == 0);
  // npy.read gives no gain: calib.electrons cannot calibrate.
  r = run(dir.path(), "nogain",
          "pipeline: nogain\nversion: 1\nstages:\n  - {id: in, use: npy.read, with: {path: \"" +
              (dir.path() / "make" / "outputs").string() + "\"}}\n  - {id: electrons, use: calib.electrons}\n");
  CHECK(r.exit_code == 2);
  const auto failed = e2e::events(dir.path() / "nogain", "item_failed");
  REQUIRE(failed.size() == 2);
  CHECK(failed[0].find("no gain for item") != std::string::npos);
  CHECK(failed[0].find("set gain") != std::string::npos);

  // A mosaic cannot be downsampled before demosaicing.
  r = run(dir.path(), "mosaic", R"(pipeline: mosaic
version: 1
stages:
  - {id: sky, use: synth.starfield, with: {width: 40, height: 30, bayer: true}}
  - {id: down, use: image.downsample, with: {factor: 2}}
)");
  CHECK(r.exit_code == 2);
  const auto mosaic_failed = e2e::events(dir.path() / "mosaic", "item_failed");
  REQUIRE(mosaic_failed.size() == 1);
  CHECK(mosaic_failed[0].find("put calib.demosaic before image.downsample") != std::string::npos);
}

TEST_CASE("calib: cosmic rays on a real CCD frame (header gain and read noise)", "[calib][e2e]") {
  const auto file = e2e::shared_data("fits") / "saao1m_STE3_a8280271.fits";
  if (!fs::exists(file)) {
    WARN("SKIPPED: " + file.string() + " is absent");
    return;
  }
  e2e::TempDir dir("calib-real");
  const auto r = run(dir.path(), "real",
                     "pipeline: real\nversion: 1\nstages:\n"
                     "  - {id: read, use: fits.read, with: {path: \"" +
                         file.string() +
                         "\"}}\n"
                         "  - {id: electrons, use: calib.electrons}\n"
                         "  - {id: cosmics, use: calib.cosmic_rays}\n"
                         "  - {id: mask, use: npy.write, with: {array: cosmic_ray_mask, name: mask.npy}}\n"
                         "  - {id: clean, use: npy.write, from: cosmics, with: {name: clean.npy}}\n");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  if (!e2e::have_python("numpy, astropy")) {
    WARN("SKIPPED: the numpy/astropy check (no /usr/bin/python3 with numpy and astropy)");
    return;
  }
  const auto out = dir.path() / "real" / "outputs";
  const auto check =
      e2e::shell("/usr/bin/python3 -c " + e2e::quote(R"(
import sys, numpy as np
from astropy.io import fits
e = fits.getdata(sys.argv[1]).astype(np.float64) * 1.9   # header GAIN 1.9, no black level
m = np.load(sys.argv[2]); c = np.load(sys.argv[3])
n = int(m.sum())
assert 5 <= n <= 2000, n                      # a 150 s exposure: some hits, not the stars
for y, x in zip(*np.nonzero(m)):
    win = e[max(0, y - 2):y + 3, max(0, x - 2):x + 3]
    med = np.median(win); sigma = np.sqrt(max(med, 0) + 25)
    # a hit core, or a neighbour grown from one: the brightest flagged pixel around is a spike
    core = (e * m)[max(0, y - 2):y + 3, max(0, x - 2):x + 3].max()
    assert core > med + 8 * sigma, (y, x, e[y, x], core, med)
    assert abs(c[y, x] - med) < 6 * sigma, (y, x, c[y, x], med)   # replaced by the surroundings
keep = m == 0
assert np.allclose(c[keep], e[keep], rtol=1e-6), 'unflagged pixels changed'
)") + " " + e2e::quote(file.string()) +
                 " " + e2e::quote((out / "mask.npy").string()) + " " + e2e::quote((out / "clean.npy").string()));
  INFO(check.output);
  CHECK(check.exit_code == 0);
}
