// End-to-end: the `tiff` and `hdf5` sets through the real `lumen` binary: a numbered TIFF
// series appended into one HDF5 stack, read back frame by frame and written as TIFFs that equal
// the series; multi-page files split into pages; a truncated TIFF fails its item with a clear
// message while the run goes on.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using e2e::lumen;

TEST_CASE("tiff series -> hdf5.append -> hdf5 frames -> tiff gives back the series", "[formats][tiff][hdf5]") {
  const fs::path series = e2e::shared_data() / "tiff" / "numbered_petraP25_frames_u16";
  if (!fs::exists(series / "frame_0000.tif")) {
    WARN("SKIPPED: shared TIFF samples not found under " << series.string());
    return;
  }
  e2e::TempDir dir("tiff-e2e");
  e2e::write_text(dir.path() / "to_h5.yaml",
                  "pipeline: to_h5\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                  "  - id: in\n    use: tiff.read\n    with: {path: \"${input}\", series: true, mode: frames}\n"
                  "  - id: stack\n    use: hdf5.append\n"
                  "    with: {dataset: entry/data/data, compression: shuffle+deflate}\n");
  const auto run1 = dir.path() / "run1";
  auto r = lumen({"run", (dir.path() / "to_h5.yaml").string(), "--set",
                  "vars.input=" + (series / "frame_*.tif").string(), "--run-dir", run1.string(), "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const fs::path h5 = run1 / "outputs" / "stack.h5";
  REQUIRE(fs::exists(h5));
  CHECK(e2e::events(run1, "output_written").size() == 1);

  e2e::write_text(
      dir.path() / "to_tiff.yaml",
      "pipeline: to_tiff\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
      "  - id: in\n    use: hdf5.read\n    with: {path: \"${input}\", dataset: entry/data/data, "
      "frames_per_item: 1}\n"
      "  - id: out\n    use: tiff.write\n    with: {name: \"frame_{index:04d}.tif\", compression: deflate}\n");
  const auto run2 = dir.path() / "run2";
  auto back = lumen({"run", (dir.path() / "to_tiff.yaml").string(), "--set", "vars.input=" + h5.string(), "--run-dir",
                     run2.string(), "--threads", "2"});
  INFO(back.output);
  REQUIRE(back.exit_code == 0);
  CHECK(e2e::count_files(run2 / "outputs", ".tif") == 20);

  if (!e2e::have_python("tifffile, h5py, numpy")) {
    WARN("SKIPPED: pixel comparison needs /usr/bin/python3 with tifffile, h5py and numpy");
    return;
  }
  const auto cmp = e2e::shell(
      "/usr/bin/python3 -c \"import sys, glob, numpy as np, tifffile, h5py\n"
      "a = np.stack([tifffile.imread(f) for f in sorted(glob.glob(sys.argv[1] + '/frame_*.tif'))])\n"
      "b = np.stack([tifffile.imread(f) for f in sorted(glob.glob(sys.argv[2] + '/frame_*.tif'))])\n"
      "d = h5py.File(sys.argv[3], 'r')['entry/data/data']\n"
      "assert a.shape == (20, 100, 100) and np.array_equal(a, b) and np.array_equal(a, d[()]), 'differ'\n"
      "assert d.compression == 'gzip' and d.shuffle\n"
      "print('same')\" " +
      e2e::quote(series.string()) + " " + e2e::quote((run2 / "outputs").string()) + " " + e2e::quote(h5.string()));
  INFO(cmp.output);
  CHECK_THAT(cmp.output, Catch::Contains("same"));
}

TEST_CASE("tiff.read frames mode splits pages, a truncated TIFF fails alone", "[formats][tiff]") {
  const fs::path data = e2e::shared_data() / "tiff";
  if (!fs::exists(data / "hyperspy_imageJ_stack.tif")) {
    WARN("SKIPPED: shared TIFF samples not found under " << data.string());
    return;
  }
  e2e::TempDir dir("tiff-e2e");
  const auto input = dir.path() / "input";
  fs::create_directories(input);
  for (const char* f : {"hyperspy_imageJ_stack.tif", "hamamatsu_streak_FOCUS_u16.tif"})
    fs::copy_file(data / f, input / f);
  const std::string bytes = e2e::read_text(data / "hamamatsu_streak_FOCUS_u16.tif");
  e2e::write_text(input / "broken.tif", bytes.substr(0, bytes.size() / 3));
  e2e::write_text(dir.path() / "p.yaml",
                  "pipeline: split\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                  "  - id: in\n    use: tiff.read\n    with: {path: \"${input}\", mode: frames}\n"
                  "  - id: out\n    use: tiff.write\n"
                  "    with: {name: \"{stem}_{index:02d}.tif\", compression: lzw}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + input.string(), "--run-dir",
                  run.string(), "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0], Catch::Contains("broken.tif") && Catch::Contains("beyond the end of the file"));
  CHECK(fs::exists(run / "outputs" / "hyperspy_imageJ_stack_00.tif"));
  CHECK(fs::exists(run / "outputs" / "hyperspy_imageJ_stack_01.tif"));
  CHECK(fs::exists(run / "outputs" / "hamamatsu_streak_FOCUS_u16_00.tif"));
  CHECK(e2e::count_files(run / "outputs", ".tif") == 3);
}

TEST_CASE("the shipped tiff-series-to-hdf5 pipeline rebuilds the cryo-ET stack from its numbered slices",
          "[formats][tiff][hdf5][pipelines]") {
  const fs::path data = e2e::shared_data("tiff");
  if (!fs::exists(data / "numbered_13pf_MT_u8" / "slice_000.tif")) {
    WARN("SKIPPED: shared TIFF samples not found under " << data.string());
    return;
  }
  e2e::TempDir dir("tiff-series-pipeline");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", std::string(LUMEN_SOURCE_DIR) + "/pipelines/tiff-series-to-hdf5.yaml", "--set",
                  "vars.input=" + (data / "numbered_13pf_MT_u8" / "slice_*.tif").string(), "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(run / "outputs" / "stack.h5"));
  if (!e2e::have_python("h5py, tifffile, numpy")) {
    WARN("SKIPPED: pixel comparison needs /usr/bin/python3 with h5py, tifffile and numpy");
    return;
  }
  const auto cmp = e2e::shell("/usr/bin/python3 -c \"import sys, numpy as np, tifffile, h5py\n"
                              "d = h5py.File(sys.argv[1], 'r')['entry/data/data']\n"
                              "a = tifffile.imread(sys.argv[2])\n"
                              "assert d.shape == (36, 206, 94) and np.array_equal(d[()], a), 'differ'\n"
                              "print('same')\" " +
                              e2e::quote((run / "outputs" / "stack.h5").string()) + " " +
                              e2e::quote((data / "cylindra_13pf_MT_cryoET_stack.tif").string()));
  INFO(cmp.output);
  CHECK_THAT(cmp.output, Catch::Contains("same"));
}
