// End-to-end: the png set's two encoders (libdeflate, the default, and libpng) through the real
// `lumen` binary. numpy writes random and smooth images (u8 gray, gray+alpha, RGB, RGBA; u16 gray
// and RGB) as .npy files; one pipeline writes each of them with png.write under every encoder x
// filter x compression level (0, 1, 9); a second pipeline reads every PNG back with png.read (the
// png set's libpng decoder) into .npy files. python3 then checks, pixel for pixel, that every PNG
// decoded by Pillow and every png.read result equals the source array (Pillow cannot give 16-bit
// RGB samples, so those are checked through png.read only). tile.write is run the same way with
// both encoders, libpng's strategies and filter all, and every tile, decoded by Pillow and by
// png.read, must equal its crop of the source image.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const char* kMakeInputs = R"(
import sys, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
def save(name, a): np.save(out + '/' + name + '.npy', a)
save('gray8', rng.integers(0, 256, (37, 53), dtype=np.uint8))
save('ga8', rng.integers(0, 256, (29, 31, 2), dtype=np.uint8))
save('rgb8', rng.integers(0, 256, (33, 47, 3), dtype=np.uint8))
save('rgba8', rng.integers(0, 256, (21, 40, 4), dtype=np.uint8))
y, x = np.mgrid[0:40, 0:70]
save('ramp8', np.stack([(x * 3) % 256, (y * 5) % 256, (x + y) % 256], axis=2).astype(np.uint8))
save('gray16', rng.integers(0, 65536, (25, 27), dtype=np.uint16))
save('rgb16', rng.integers(0, 65536, (19, 23, 3), dtype=np.uint16))
)";

// argv: inputs dir, PNG dir, png.read's .npy dir. PNG names: <encoder>_<filter>_<level>_<source>.png
const char* kCheckWrites = R"(
import glob, os, sys, numpy as np
from PIL import Image
src, pngs, decoded = sys.argv[1:4]
sources = {os.path.basename(f)[:-4]: np.load(f) for f in glob.glob(src + '/*.npy')}
files = sorted(glob.glob(pngs + '/*.png'))
pil = lib = 0
for f in files:
    stem = os.path.basename(f)[:-4]
    a = sources[stem.split('_')[-1]]
    b = np.load(decoded + '/' + stem + '.npy')
    assert b.dtype == a.dtype and b.shape == a.shape and (b == a).all(), 'png.read differs: ' + f
    lib += 1
    if a.dtype == np.uint16 and a.ndim == 3:
        continue  # Pillow reads 16-bit RGB as 8-bit
    im = Image.open(f)
    im.load()
    c = np.asarray(im)
    assert c.shape == a.shape and (c.astype(np.int64) == a.astype(np.int64)).all(), 'Pillow differs: ' + f
    pil += 1
print('checked %d PNG files: %d with png.read, %d with Pillow' % (len(files), lib, pil))
)";

// argv: inputs dir, run outputs dir, png.read's .npy dir of the tiles.
const char* kCheckTiles = R"(
import json, os, sys, numpy as np
from PIL import Image
src, outputs, decoded = sys.argv[1:4]
n = 0
for line in open(outputs + '/tiles_metadata.jsonl'):
    r = json.loads(line)
    stem = os.path.basename(r['source_file'])[:-4]
    a = np.load(src + '/' + stem + '.npy')
    x, y, t = r['image_x'], r['image_y'], r['tile_size']
    crop = a[y:y + t, x:x + t]
    png = outputs + '/' + r['png_path']
    c = np.asarray(Image.open(png))
    assert c.shape == crop.shape and (c == crop).all(), 'Pillow differs: ' + png
    b = np.load(decoded + '/' + os.path.basename(png)[:-4] + '.npy')
    assert b.shape == crop.shape and (b == crop).all(), 'png.read differs: ' + png
    n += 1
assert n > 0
print('checked %d tiles' % n)
)";

std::string writers_pipeline(const std::vector<std::string>& encoders, const std::vector<std::string>& filters,
                             const std::vector<int>& levels) {
  std::string y = "pipeline: png-encoders\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                  "  - id: in\n    use: npy.read\n    with: {path: \"${input}\"}\n";
  for (const auto& e : encoders)
    for (const auto& f : filters)
      for (int l : levels) {
        const std::string tag = e + "_" + f + "_" + std::to_string(l);
        y += "  - id: w_" + tag + "\n    use: png.write\n    with: {dir: png, name: \"" + tag +
             "_{stem}.png\", encoder: " + e + ", filter: " + f + ", compression: " + std::to_string(l) + "}\n";
      }
  return y;
}

const char* kDecode = R"(pipeline: png-decode
version: 1
vars:
  input: ""
stages:
  - id: in
    use: png.read
    with: {path: "${input}"}
  - id: out
    use: npy.write
    with: {name: "{stem}.npy"}
)";

const char* kTiles = R"(pipeline: png-encoder-tiles
version: 1
vars:
  input: ""
stages:
  - id: in
    use: npy.read
    with: {path: "${input}"}
  - id: label
    use: tile.label
    with: {data_type: noisy, domain: astronomy}
  - id: tiles
    use: tile.grid
    with: {tile_size: 16, mode: stride}
  - id: split
    use: tile.split
  - id: write
    use: tile.write
)";

} // namespace

TEST_CASE(
    "png encoders: png.write and tile.write with libdeflate and libpng decode bit-exactly with png.read and Pillow",
    "[e2e][png]") {
  if (!e2e::have_python("numpy, PIL")) {
    WARN("SKIPPED: needs /usr/bin/python3 with numpy and Pillow (python3-numpy, python3-pil)");
    return;
  }
  e2e::TempDir tmp("png-encoders");
  const fs::path in = tmp.path() / "in";
  fs::create_directories(in);
  const auto made = e2e::shell("/usr/bin/python3 -c " + e2e::quote(kMakeInputs) + " " + e2e::quote(in.string()));
  REQUIRE(made.exit_code == 0);

  // png.write: 2 encoders x 6 filters x 3 levels x 7 images.
  const fs::path pipe = tmp.path() / "write.yaml";
  e2e::write_text(pipe,
                  writers_pipeline({"libdeflate", "libpng"}, {"none", "sub", "up", "avg", "paeth", "all"}, {0, 1, 9}));
  const fs::path run = tmp.path() / "run";
  const auto w = lumen({"run", pipe.string(), "--set", "vars.input=" + in.string(), "--run-dir", run.string(),
                        "--threads", "2", "--no-progress"});
  INFO(w.output);
  REQUIRE(w.exit_code == 0);
  REQUIRE(e2e::count_files(run / "outputs" / "png", ".png") == 2 * 6 * 3 * 7);

  const fs::path decode_yaml = tmp.path() / "decode.yaml";
  e2e::write_text(decode_yaml, kDecode);
  const fs::path back = tmp.path() / "back";
  const auto d = lumen({"run", decode_yaml.string(), "--set", "vars.input=" + (run / "outputs" / "png").string(),
                        "--run-dir", back.string(), "--no-progress"});
  INFO(d.output);
  REQUIRE(d.exit_code == 0);
  const auto check =
      e2e::shell("/usr/bin/python3 -c " + e2e::quote(kCheckWrites) + " " + e2e::quote(in.string()) + " " +
                 e2e::quote((run / "outputs" / "png").string()) + " " + e2e::quote((back / "outputs").string()));
  INFO(check.output);
  CHECK(check.exit_code == 0);
  CHECK_THAT(check.output, Catch::Contains("checked 252 PNG files: 252 with png.read, 216 with Pillow"));

  // tile.write: u8 gray, gray+alpha, RGB, RGBA sources cut into 16 x 16 tiles, per encoder setting.
  const fs::path tiles_in = tmp.path() / "tiles-in";
  fs::create_directories(tiles_in);
  for (const char* name : {"gray8", "ga8", "rgb8", "rgba8", "ramp8"})
    fs::copy_file(in / (std::string(name) + ".npy"), tiles_in / (std::string(name) + ".npy"));
  const fs::path tiles_yaml = tmp.path() / "tiles.yaml";
  e2e::write_text(tiles_yaml, kTiles);
  const std::vector<std::vector<std::string>> settings = {
      {},
      {"write.encoder=libdeflate", "write.filter=all", "write.compression=9"},
      {"write.encoder=libpng"},
      {"write.encoder=libpng", "write.strategy=rle", "write.filter=paeth"},
      {"write.encoder=libpng", "write.strategy=huffman"},
      {"write.encoder=libpng", "write.strategy=filtered", "write.filter=sub"}};
  for (std::size_t k = 0; k < settings.size(); ++k) {
    const fs::path tr = tmp.path() / ("tiles" + std::to_string(k));
    std::vector<std::string> args = {
        "run",       tiles_yaml.string(), "--set",        "vars.input=" + tiles_in.string(),
        "--run-dir", tr.string(),         "--no-progress"};
    for (const auto& s : settings[k]) {
      args.push_back("--set");
      args.push_back(s);
    }
    const auto t = lumen(args);
    INFO("setting " << k << "\n" << t.output);
    REQUIRE(t.exit_code == 0);
    const fs::path tb = tmp.path() / ("tiles-back" + std::to_string(k));
    const auto r = lumen({"run", decode_yaml.string(), "--set",
                          "vars.input=" + (tr / "outputs" / "png_tiles" / "astronomy" / "noisy").string(), "--run-dir",
                          tb.string(), "--no-progress"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto c =
        e2e::shell("/usr/bin/python3 -c " + e2e::quote(kCheckTiles) + " " + e2e::quote(tiles_in.string()) + " " +
                   e2e::quote((tr / "outputs").string()) + " " + e2e::quote((tb / "outputs").string()));
    INFO(c.output);
    CHECK(c.exit_code == 0);
    // gray8 37x53 -> 2x3, ga8 29x31 -> 1x1, rgb8 33x47 -> 2x2, rgba8 21x40 -> 1x2, ramp8 40x70 -> 2x4 = 21 (stride,
    // drop)
    CHECK_THAT(c.output, Catch::Contains("checked 21 tiles"));
  }
}

TEST_CASE("png encoders: tile.write refuses a zlib strategy with the libdeflate encoder before any data is read",
          "[e2e][png][errors]") {
  e2e::TempDir tmp("png-encoders-bad");
  const fs::path tiles_yaml = tmp.path() / "tiles.yaml";
  e2e::write_text(tiles_yaml, kTiles);
  const auto r = lumen(
      {"validate", tiles_yaml.string(), "--set", "vars.input=" + tmp.path().string(), "--set", "write.strategy=rle"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("strategy") && Catch::Contains("encoder: libpng"));
  const auto p = lumen(
      {"validate", tiles_yaml.string(), "--set", "vars.input=" + tmp.path().string(), "--set", "write.encoder=zlib"});
  CHECK(p.exit_code == 1);
  CHECK_THAT(p.output, Catch::Contains("encoder") && Catch::Contains("libdeflate"));
}
