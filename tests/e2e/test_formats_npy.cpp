// End-to-end: the npy set through the real `lumen` binary. Frames written by npy.write load in
// numpy with the right dtype and shape and round-trip through npy.read byte for byte; a corrupt
// .npy and an item without the requested array fail their items with clear messages while the
// run goes on.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const char* kMake = "pipeline: make\nversion: 1\nstages:\n  - id: sky\n    use: synth.starfield\n"
                    "    with: {count: 4, width: 33, height: 17}\n"
                    "  - id: save\n    use: npy.write\n    with: {dir: npy, name: \"{stem}_{index:04d}.npy\"}\n";

const char* kCopy =
    "pipeline: copy\nversion: 1\nvars:\n  input: \"\"\nstages:\n  - id: in\n    use: npy.read\n"
    "    with: {path: \"${input}\"}\n  - id: out\n    use: npy.write\n    with: {name: \"{stem}.npy\"}\n";

} // namespace

TEST_CASE("npy.write output loads in numpy and copies through npy.read byte for byte", "[formats][npy]") {
  e2e::TempDir dir("npy-copy");
  e2e::write_text(dir.path() / "make.yaml", kMake);
  const auto first = dir.path() / "first";
  auto r = lumen({"run", (dir.path() / "make.yaml").string(), "--run-dir", first.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(e2e::count_files(first / "outputs" / "npy", ".npy") == 4);
  const auto file = first / "outputs" / "npy" / "starfield_0002.npy";
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0) {
    const auto check = e2e::shell("/usr/bin/python3 -c \"import sys, numpy as np; a = np.load(sys.argv[1]); "
                                  "sys.exit(0 if a.dtype == np.uint16 and a.shape == (17, 33) and a.max() > a.min() "
                                  "else 1)\" " +
                                  e2e::quote(file.string()));
    INFO(check.output);
    CHECK(check.exit_code == 0);
  } else {
    WARN("SKIPPED: the numpy cross-check (no /usr/bin/python3 with numpy)");
  }

  e2e::write_text(dir.path() / "copy.yaml", kCopy);
  const auto second = dir.path() / "second";
  r = lumen({"run", (dir.path() / "copy.yaml").string(), "--set", "vars.input=" + (first / "outputs" / "npy").string(),
             "--run-dir", second.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(e2e::read_text(second / "outputs" / "starfield_0002.npy") == e2e::read_text(file));
  CHECK(e2e::count_files(second / "outputs", ".npy") == 4);
}

TEST_CASE("a corrupt npy file fails its item, the others are copied", "[formats][npy]") {
  e2e::TempDir dir("npy-corrupt");
  e2e::write_text(dir.path() / "make.yaml", kMake);
  const auto first = dir.path() / "first";
  REQUIRE(lumen({"run", (dir.path() / "make.yaml").string(), "--run-dir", first.string(), "--no-progress"}).exit_code ==
          0);
  const auto input = first / "outputs" / "npy";
  auto text = e2e::read_text(input / "starfield_0001.npy");
  text.replace(text.find("'shape'"), 7, "'shape!'");
  e2e::write_text(input / "starfield_0001.npy", text);
  e2e::write_text(input / "starfield_0003.npy", "not numpy at all");

  e2e::write_text(dir.path() / "copy.yaml", kCopy);
  const auto second = dir.path() / "second";
  auto r = lumen({"run", (dir.path() / "copy.yaml").string(), "--set", "vars.input=" + input.string(), "--run-dir",
                  second.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(second, "item_failed");
  REQUIRE(failed.size() == 2);
  const std::string all = failed[0] + failed[1];
  CHECK_THAT(all, Catch::Contains("starfield_0001.npy: invalid .npy header: unknown key 'shape!'"));
  CHECK_THAT(all, Catch::Contains("starfield_0003.npy: not a .npy file"));
  CHECK(e2e::count_files(second / "outputs", ".npy") == 2);
}

TEST_CASE("npy.write names the missing array of an item", "[formats][npy]") {
  e2e::TempDir dir("npy-array");
  e2e::write_text(dir.path() / "p.yaml", "pipeline: p\nversion: 1\nstages:\n  - id: sky\n    use: synth.starfield\n"
                                         "    with: {count: 2, width: 8, height: 8}\n"
                                         "  - id: save\n    use: npy.write\n    with: {array: mask}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string(), "--no-progress"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 2);
  CHECK_THAT(failed[0], Catch::Contains("mask"));
  CHECK(e2e::count_files(run / "outputs", ".npy") == 0);
}
