// End-to-end: the `zarr` set through the real `lumen` binary. Two .npy movies become two
// schema-addressed stores (npy.read -> zarr.write), which zarr-python opens; zarr.read streams
// them back in frame blocks to npy.write byte for byte; a re-run into the same run directory
// replaces the stores whole; bad parameters are refused before any data is read; a corrupt
// chunk fails its item with the chunk's name while the other blocks are written.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

// A little-endian u16 (t, h, w) movie whose values depend on the file, frame and pixel.
std::vector<std::uint16_t> movie_values(int seed, int t, int h, int w) {
  std::vector<std::uint16_t> v(static_cast<std::size_t>(t * h * w));
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<std::uint16_t>((i * 2654435761u + static_cast<unsigned>(seed) * 977u) % 1500u + 100u);
  return v;
}

void write_npy(const fs::path& file, const std::vector<std::uint16_t>& v, int t, int h, int w) {
  std::string header = "{'descr': '<u2', 'fortran_order': False, 'shape': (" + std::to_string(t) + ", " +
                       std::to_string(h) + ", " + std::to_string(w) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(file, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * 2));
}

// The data bytes of a version 1.0 .npy file.
std::string npy_data(const fs::path& file) {
  const std::string bytes = e2e::read_text(file);
  if (bytes.size() < 10) return {};
  const std::size_t len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  return bytes.substr(10 + len);
}

std::string as_bytes(const std::vector<std::uint16_t>& v, std::size_t begin, std::size_t end) {
  return {reinterpret_cast<const char*>(v.data() + begin), (end - begin) * 2};
}

const char* kCompress = "pipeline: compress\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                        "  - id: in\n    use: npy.read\n    with: {path: \"${input}\"}\n"
                        "  - id: store\n    use: zarr.write\n"
                        "    with: {table: calcium, chunk_frames: 10, chunk_rows: 8}\n";

const char* kRestore = "pipeline: restore\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                       "  - id: in\n    use: zarr.read\n    with: {path: \"${input}\", frames_per_item: 5}\n"
                       "  - id: out\n    use: npy.write\n    with: {name: \"{id}.npy\"}\n";

constexpr int kH = 20, kW = 30;

} // namespace

TEST_CASE("npy movies -> zarr.write -> zarr.read -> npy.write round-trips every frame", "[formats][zarr]") {
  e2e::TempDir dir("zarr-e2e");
  const auto input = dir.path() / "input";
  fs::create_directories(input);
  const auto a = movie_values(1, 25, kH, kW), b = movie_values(2, 12, kH, kW);
  write_npy(input / "a.npy", a, 25, kH, kW);
  write_npy(input / "b.npy", b, 12, kH, kW);
  e2e::write_text(dir.path() / "compress.yaml", kCompress);
  e2e::write_text(dir.path() / "restore.yaml", kRestore);

  const auto run = dir.path() / "run";
  for (int attempt = 0; attempt < 2; ++attempt) { // the second run replaces the stores whole
    auto r = lumen({"run", (dir.path() / "compress.yaml").string(), "--set", "vars.input=" + input.string(),
                    "--run-dir", run.string(), "--threads", "2", "--no-progress"});
    INFO("attempt " << attempt << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
    const auto table = run / "outputs" / "lumen" / "calcium";
    CHECK(fs::exists(table / "movie=a" / "data.zarr" / ".zarray"));
    CHECK(fs::exists(table / "movie=a" / "data.zarr" / "2.2.0"));  // frames 20-24, rows 16-19
    CHECK(!fs::exists(table / "movie=b" / "data.zarr" / "2.0.0")); // b has 12 frames: 2 chunk rows
    const auto written = e2e::events(run, "output_written");
    REQUIRE(written.size() == 2 * static_cast<std::size_t>(attempt + 1)); // the event log grows
    CHECK_THAT(written.back(), Catch::Contains("movie=b/data.zarr"));
    CHECK_THAT(written[0], Catch::Contains("outputs/lumen/calcium/movie=a/data.zarr"));
    std::size_t temps = 0;
    for (const auto& e : fs::recursive_directory_iterator(run / "outputs"))
      temps += e.path().filename().string().find(".lumen-tmp") != std::string::npos;
    CHECK(temps == 0);
  }

  if (e2e::have_python("zarr, numpy")) {
    const auto check = e2e::shell(
        "/usr/bin/python3 -c \"import sys, zarr, numpy as np\n"
        "a = zarr.open(sys.argv[1] + '/movie=a/data.zarr', mode='r')\n"
        "b = zarr.open(sys.argv[1] + '/movie=b/data.zarr', mode='r')\n"
        "x = np.load(sys.argv[2] + '/a.npy'); y = np.load(sys.argv[2] + '/b.npy')\n"
        "assert a.shape == (25, 20, 30) and a.chunks == (10, 8, 30) and np.array_equal(a[:], x)\n"
        "assert np.array_equal(b[:], y) and b.attrs['lumen']['frames'] == 12 and b.attrs['npy_descr'] == '<u2'\n"
        "print('zarr-python agrees')\" " +
        e2e::quote((run / "outputs" / "lumen" / "calcium").string()) + " " + e2e::quote(input.string()));
    INFO(check.output);
    CHECK_THAT(check.output, Catch::Contains("zarr-python agrees"));
  } else {
    WARN("SKIPPED: the zarr-python cross-check (no /usr/bin/python3 with zarr and numpy)");
  }

  const auto back = dir.path() / "back";
  auto r = lumen({"run", (dir.path() / "restore.yaml").string(), "--set",
                  "vars.input=" + (run / "outputs" / "lumen").string(), "--run-dir", back.string(), "--threads", "2",
                  "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(e2e::events(back, "unit_done").size() == 5 + 3);
  const std::size_t frame = kH * kW;
  for (int t0 = 0; t0 < 25; t0 += 5) {
    char name[32];
    std::snprintf(name, sizeof name, "%04d.npy", t0);
    CHECK(npy_data(back / "outputs" / ("a_" + std::string(name))) ==
          as_bytes(a, t0 * frame, static_cast<std::size_t>(std::min(25, t0 + 5)) * frame));
  }
  CHECK(npy_data(back / "outputs" / "b_0010.npy") == as_bytes(b, 10 * frame, 12 * frame));

  // A corrupt chunk fails the blocks that need it (naming the chunk file); the others are written.
  const auto chunk = run / "outputs" / "lumen" / "calcium" / "movie=a" / "data.zarr" / "1.1.0";
  e2e::write_text(chunk, e2e::read_text(chunk).substr(0, 20));
  const auto bad = dir.path() / "bad";
  r = lumen({"run", (dir.path() / "restore.yaml").string(), "--set",
             "vars.input=" + (run / "outputs" / "lumen" / "calcium" / "movie=a" / "data.zarr").string(), "--run-dir",
             bad.string(), "--no-progress"});
  INFO(r.output);
  CHECK(r.exit_code == 2);
  const auto failed = e2e::events(bad, "item_failed");
  REQUIRE(failed.size() == 2); // frames 10-14 and 15-19
  CHECK_THAT(failed[0], Catch::Contains("data.zarr/1.1.0") && Catch::Contains("blosc header declares"));
  CHECK(fs::exists(bad / "outputs" / "a_0000.npy"));
  CHECK(fs::exists(bad / "outputs" / "a_0020.npy"));
}

TEST_CASE("zarr parameters are checked before any data is read", "[formats][zarr]") {
  e2e::TempDir dir("zarr-e2e-params");
  e2e::write_text(dir.path() / "compress.yaml", kCompress);
  const auto validate = [&](const std::string& set) {
    return lumen({"validate", (dir.path() / "compress.yaml").string(), "--set", "vars.input=x.npy", "--set", set});
  };
  auto r = validate("store.clevel=10");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("clevel"));
  r = validate("store.key=a=b");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("key") && Catch::Contains("'='"));
  r = validate("store.cname=gzip");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("cname"));
  r = validate("store.chunk_frames=0");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("chunk_frames"));
  r = validate("store.clevel=9");
  INFO(r.output);
  CHECK(r.exit_code == 0);
}

TEST_CASE("zarr.write killed or interrupted mid-movie leaves no store and no temporary directory",
          "[formats][zarr][resume]") {
  // 400 synthetic 256x256 frames take about two seconds; the signal is sent as soon as the first
  // chunk (50 frames) is in the store's temporary directory, so it lands mid-movie.
  e2e::TempDir dir("zarr-e2e-kill");
  e2e::write_text(dir.path() / "p.yaml", "pipeline: sky\nversion: 1\nstages:\n"
                                         "  - id: sky\n    use: synth.starfield\n"
                                         "    with: {count: 400, width: 256, height: 256}\n"
                                         "  - id: store\n    use: zarr.write\n    with: {chunk_frames: 50}\n");
  const auto p = (dir.path() / "p.yaml").string();
  const auto store = [](const fs::path& run) {
    return run / "outputs" / "lumen" / "movies" / "movie=starfield" / "data.zarr";
  };
  const auto temps = [](const fs::path& run) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(run))
      n += e.path().filename().string().find(".lumen-tmp") != std::string::npos;
    return n;
  };
  const auto start = [&](const fs::path& run, const char* signal) {
    return e2e::shell("NO_COLOR=1 " + e2e::quote(LUMEN_BIN) + " run " + e2e::quote(p) + " --run-dir " +
                      e2e::quote(run.string()) + " --plugin-path " + e2e::quote(LUMEN_PLUGIN_DIR) +
                      " --threads 2 >/dev/null 2>&1 & pid=$!; for i in $(seq 400); do ls -a " +
                      e2e::quote((run / "outputs" / "lumen" / "movies" / "movie=starfield").string()) +
                      "/.*.lumen-tmp 2>/dev/null | grep -qx 0.0.0 && break; sleep 0.05; done; kill -" + signal +
                      " $pid; wait $pid; echo \"exit=$?\"");
  };

  const auto killed = dir.path() / "killed";
  auto r = start(killed, "9");
  REQUIRE_THAT(r.output, Catch::Contains("exit=137"));
  CHECK(!fs::exists(store(killed))); // never half-written
  CHECK(temps(killed) == 1);         // the store being built, in its hidden sibling
  r = lumen({"run", p, "--run-dir", killed.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("removed 1 unfinished store")); // by zarr.write's start()
  CHECK(fs::exists(store(killed) / "7.0.0"));
  CHECK(temps(killed) == 0);

  const auto stopped = dir.path() / "stopped";
  r = start(stopped, "INT");
  CHECK_THAT(r.output, Catch::Contains("exit=3"));
  CHECK(!fs::exists(store(stopped)));
  CHECK(temps(stopped) == 0);
}

TEST_CASE("a Zarr v3 store written by zarr.write reads back through zarr.read", "[formats][zarr][v3]") {
  e2e::TempDir dir("zarr-e2e-v3");
  e2e::write_text(dir.path() / "w.yaml", "pipeline: w\nversion: 1\nstages:\n"
                                         "  - id: sky\n    use: synth.starfield\n"
                                         "    with: {count: 12, width: 40, height: 30}\n"
                                         "  - id: store\n    use: zarr.write\n"
                                         "    with: {zarr_format: 3, chunk_frames: 5, chunk_cols: 16}\n"
                                         "  - id: copy\n    use: npy.write\n    from: sky\n"
                                         "    with: {name: \"sky/{index:04d}.npy\"}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "w.yaml").string(), "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto store = run / "outputs" / "lumen" / "movies" / "movie=starfield" / "data.zarr";
  CHECK(fs::exists(store / "zarr.json"));
  CHECK(fs::exists(store / "c" / "2" / "0" / "2")); // frames 10-11, columns 32-39
  CHECK_THAT(e2e::read_text(store / "zarr.json"), Catch::Contains("\"gain_e_per_adu\": 1.5"));

  e2e::write_text(dir.path() / "r.yaml", kRestore);
  const auto back = dir.path() / "back";
  r = lumen({"run", (dir.path() / "r.yaml").string(), "--set", "vars.input=" + store.string(), "--set",
             "in.frames_per_item=1", "--run-dir", back.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (int t : {0, 6, 11}) {
    char name[32];
    std::snprintf(name, sizeof name, "%04d.npy", t);
    const auto restored = back / "outputs" / ("starfield_" + std::string(name));
    REQUIRE(fs::exists(restored));
    CHECK(npy_data(restored).size() == 30 * 40 * 2);
    CHECK(npy_data(restored) == npy_data(run / "outputs" / "sky" / name));
  }
}
