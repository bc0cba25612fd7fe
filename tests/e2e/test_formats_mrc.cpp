// End-to-end: the mrc set through the real `lumen` binary. Synthetic frames travel
// synth.starfield -> npy.write -> npy.read -> mrc.write -> mrc.read -> npy.write and come back
// bit-identical; the real EMD-3197 map streams in frame ranges; a truncated .mrc fails its item
// with a clear message while the other files are written.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

// Runs a two-stage pipeline `reader -> writer` over `input` into `run`.
e2e::Result run_pair(const fs::path& dir, const std::string& name, const std::string& reader,
                     const std::string& reader_with, const std::string& writer, const std::string& writer_with,
                     const fs::path& input, const fs::path& run) {
  e2e::write_text(dir / (name + ".yaml"), "pipeline: " + name +
                                              "\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                                              "  - id: in\n    use: " +
                                              reader + "\n    with: {path: \"${input}\"" + reader_with +
                                              "}\n  - id: out\n    use: " + writer + "\n    with: {" + writer_with +
                                              "}\n");
  return lumen({"run", (dir / (name + ".yaml")).string(), "--set", "vars.input=" + input.string(), "--run-dir",
                run.string(), "--no-progress"});
}

} // namespace

TEST_CASE("frames go npy -> mrc -> npy through lumen and come back identical", "[formats][mrc]") {
  e2e::TempDir dir("mrc-chain");
  e2e::write_text(dir.path() / "make.yaml",
                  "pipeline: make\nversion: 1\nstages:\n  - id: sky\n    use: synth.starfield\n"
                  "    with: {count: 3, width: 40, height: 24, dtype: f32}\n"
                  "  - id: save\n    use: npy.write\n    with: {name: \"{stem}_{index:04d}.npy\"}\n");
  const auto first = dir.path() / "first";
  auto r = lumen({"run", (dir.path() / "make.yaml").string(), "--run-dir", first.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(e2e::count_files(first / "outputs", ".npy") == 3);

  const auto second = dir.path() / "second";
  r = run_pair(dir.path(), "to_mrc", "npy.read", "", "mrc.write", "name: \"{stem}.mrc\"", first / "outputs", second);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(e2e::count_files(second / "outputs", ".mrc") == 3);
  REQUIRE(e2e::events(second, "output_written").size() == 3);

  const auto third = dir.path() / "third";
  r = run_pair(dir.path(), "to_npy", "mrc.read", "", "npy.write", "name: \"{stem}.npy\"", second / "outputs", third);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* stem : {"starfield_0000", "starfield_0001", "starfield_0002"}) {
    INFO(stem);
    const auto a = e2e::read_text(first / "outputs" / (std::string(stem) + ".npy"));
    const auto b = e2e::read_text(third / "outputs" / (std::string(stem) + ".npy"));
    CHECK(a.size() == 128 + 40 * 24 * 4);
    CHECK(a == b);
  }
  CHECK(e2e::events(third, "item_done").size() == 3);
}

TEST_CASE("the EMD-3197 map streams through lumen in frame ranges", "[formats][mrc]") {
  const auto map = e2e::shared_data() / "mrc" / "EMD-3197.map";
  if (!fs::exists(map)) {
    WARN("SKIPPED: real sample file " << map.string() << " not found (set LUMEN_SHARED_DATA)");
    return;
  }
  e2e::TempDir dir("mrc-emd");
  const auto run = dir.path() / "run";
  auto r = run_pair(dir.path(), "chunks", "mrc.read", ", frames_per_item: 7", "mrc.write",
                    "name: \"{stem}_{index:04d}.mrc\"", map, run);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(e2e::count_files(run / "outputs", ".mrc") == 3);
  CHECK(fs::file_size(run / "outputs" / "EMD-3197_0000.mrc") == 1024 + 7 * 20 * 20 * 4);
  CHECK(fs::file_size(run / "outputs" / "EMD-3197_0014.mrc") == 1024 + 6 * 20 * 20 * 4);
  CHECK(e2e::events(run, "unit_done").size() == 3);
  if (std::system("/usr/bin/python3 -c 'import mrcfile' >/dev/null 2>&1") == 0) {
    const auto check =
        e2e::shell("/usr/bin/python3 -c \"import sys, numpy as np, mrcfile; a = mrcfile.open(sys.argv[1]).data; "
                   "b = mrcfile.open(sys.argv[2], permissive=True).data; m = mrcfile.open(sys.argv[1]); "
                   "sys.exit(0 if np.array_equal(a, b[7:14]) and abs(float(m.voxel_size.x) - 11.4) < 1e-4 and "
                   "int(m.header.ispg) == 1 else 1)\" " +
                   e2e::quote((run / "outputs" / "EMD-3197_0007.mrc").string()) + " " + e2e::quote(map.string()));
    INFO(check.output);
    CHECK(check.exit_code == 0);
  }
}

TEST_CASE("a truncated mrc file fails its item and the others are written", "[formats][mrc]") {
  e2e::TempDir dir("mrc-corrupt");
  e2e::write_text(dir.path() / "make.yaml",
                  "pipeline: make\nversion: 1\nstages:\n  - id: sky\n    use: synth.starfield\n"
                  "    with: {count: 3, width: 32, height: 32}\n"
                  "  - id: save\n    use: mrc.write\n    with: {name: \"{stem}_{index:04d}.mrc\"}\n");
  const auto first = dir.path() / "first";
  auto r = lumen({"run", (dir.path() / "make.yaml").string(), "--run-dir", first.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto victim = first / "outputs" / "starfield_0001.mrc";
  const auto full = e2e::read_text(victim);
  e2e::write_text(victim, full.substr(0, full.size() - 100));

  const auto second = dir.path() / "second";
  r = run_pair(dir.path(), "back", "mrc.read", "", "npy.write", "", first / "outputs", second);
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(second, "item_failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0], Catch::Contains("starfield_0001.mrc: truncated or corrupt MRC file"));
  CHECK_THAT(failed[0], Catch::Contains("has only 2972 bytes"));
  CHECK(e2e::count_files(second / "outputs", ".npy") == 2);
}
