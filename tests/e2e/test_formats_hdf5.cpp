// End-to-end: the `hdf5` set through the real `lumen` binary: the real CXI scan streamed in
// frame ranges and re-written per item; a missing dataset and a non-HDF5 file fail their items
// with messages that name the file (and list what the group holds) while the run goes on.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using e2e::lumen;

TEST_CASE("hdf5.read streams the CXI scan in ranges into per-item files", "[formats][hdf5]") {
  const fs::path cxi = e2e::shared_data() / "ptycho" / "PETRAIII_P25_Near_Field_Ptycho.cxi";
  if (!fs::exists(cxi)) {
    WARN("SKIPPED: shared CXI sample not found: " << cxi.string());
    return;
  }
  e2e::TempDir dir("hdf5-e2e");
  e2e::write_text(
      dir.path() / "p.yaml",
      "pipeline: ranges\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
      "  - id: in\n    use: hdf5.read\n"
      "    with: {path: \"${input}\", dataset: entry_1/instrument_1/detector_1/data, frames_per_item: 50}\n"
      "  - id: out\n    use: hdf5.write\n    with: {name: \"part_{index:03d}.h5\", compression: deflate}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + cxi.string(), "--run-dir",
                  run.string(), "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(e2e::events(run, "unit_done").size() == 4);
  for (const char* f : {"part_000.h5", "part_050.h5", "part_100.h5", "part_150.h5"})
    CHECK(fs::exists(run / "outputs" / f));
  if (std::system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") != 0) {
    WARN("SKIPPED: pixel comparison needs /usr/bin/python3 with h5py and numpy");
    return;
  }
  const auto cmp = e2e::shell("/usr/bin/python3 -c \"import sys, h5py, numpy as np\n"
                              "a = h5py.File(sys.argv[1], 'r')['entry_1/instrument_1/detector_1/data'][()]\n"
                              "b = np.concatenate([h5py.File(sys.argv[2] + '/part_%03d.h5' % i, 'r')['data'][()] "
                              "for i in (0, 50, 100, 150)])\n"
                              "assert np.array_equal(a, b)\n"
                              "print('same')\" " +
                              e2e::quote(cxi.string()) + " " + e2e::quote((run / "outputs").string()));
  INFO(cmp.output);
  CHECK_THAT(cmp.output, Catch::Contains("same"));
}

TEST_CASE("a missing dataset and a non-HDF5 file fail their items, the others are read", "[formats][hdf5]") {
  const fs::path aps = e2e::shared_data() / "hdf5" / "APS15IDD_areaDetector_Pilatus_AgBehenate_228.hdf5";
  if (!fs::exists(aps)) {
    WARN("SKIPPED: shared HDF5 sample not found: " << aps.string());
    return;
  }
  e2e::TempDir dir("hdf5-e2e");
  const auto input = dir.path() / "input";
  fs::create_directories(input);
  fs::copy_file(aps, input / "a.hdf5");
  e2e::write_text(input / "b.h5", "this is not HDF5");
  e2e::write_text(dir.path() / "p.yaml", "pipeline: aps\nversion: 1\nvars:\n  input: \"\"\n  ds: entry/data/data\n"
                                         "stages:\n  - id: in\n    use: hdf5.read\n"
                                         "    with: {path: \"${input}\", dataset: \"${ds}\"}\n"
                                         "  - id: out\n    use: hdf5.write\n");
  const auto run = dir.path() / "run";
  auto r = lumen(
      {"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + input.string(), "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0], Catch::Contains("b.h5") && Catch::Contains("not an HDF5 file"));
  CHECK(fs::exists(run / "outputs" / "a.h5"));

  const auto run2 = dir.path() / "run2";
  auto m = lumen({"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + (input / "a.hdf5").string(),
                  "--set", "vars.ds=entry/data/dta", "--run-dir", run2.string()});
  INFO(m.output);
  REQUIRE(m.exit_code == 2);
  failed = e2e::events(run2, "item_failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0], Catch::Contains("a.hdf5") && Catch::Contains("no dataset 'entry/data/dta'") &&
                            Catch::Contains("holds: data (195x487)"));
}

TEST_CASE("hdf5.append run twice into one run directory still holds every frame", "[formats][hdf5][resume]") {
  // A re-run skips the work units the ledger holds; an aggregator's input is never skipped, so
  // the stack written the second time is complete, not only the frames that were redone.
  e2e::TempDir dir("hdf5-append-e2e");
  e2e::write_text(dir.path() / "p.yaml", "pipeline: stack\nversion: 1\nstages:\n"
                                         "  - id: sky\n    use: synth.starfield\n"
                                         "    with: {count: 6, width: 40, height: 30}\n"
                                         "  - id: stack\n    use: hdf5.append\n"
                                         "    with: {name: sky.h5, compression: shuffle+deflate}\n");
  const auto run = dir.path() / "run";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string(), "--threads", "2"});
    INFO("attempt " << attempt << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
    REQUIRE(fs::exists(run / "outputs" / "sky.h5"));
    if (!e2e::have_python("h5py")) {
      WARN("SKIPPED: frame count check needs /usr/bin/python3 with h5py");
      return;
    }
    const auto shape =
        e2e::shell("/usr/bin/python3 -c \"import h5py, sys; print(h5py.File(sys.argv[1], 'r')['data'].shape)\" " +
                   e2e::quote((run / "outputs" / "sky.h5").string()));
    CHECK_THAT(shape.output, Catch::Contains("(6, 30, 40)"));
  }
}
