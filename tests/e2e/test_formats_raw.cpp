// End-to-end: the `raw` set through the real `lumen` binary: the real DNG and the two
// metadata-only stubs read in one run (the stubs fail with a clear message, the DNG goes on
// to raw.write_dng), then the written DNG read back.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using e2e::lumen;

TEST_CASE("raw.read -> raw.write_dng: the real DNG is written, the stubs fail, the DNG reads back", "[formats][raw]") {
  if (!fs::exists(e2e::shared_data("raw") / "tinydng_colorchart_CanonEOSKissX4.dng")) {
    WARN("SKIPPED: shared raw samples not found under " << e2e::shared_data("raw").string());
    return;
  }
  e2e::TempDir dir("raw-e2e");
  e2e::write_text(dir.path() / "p.yaml",
                  "pipeline: raw_dng\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                  "  - id: in\n    use: raw.read\n    with: {path: \"${input}\"}\n"
                  "  - id: dng\n    use: raw.write_dng\n    with: {name: \"{stem}_copy.dng\"}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + e2e::shared_data("raw").string(),
                  "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 2);
  for (const auto& f : failed) CHECK_THAT(f, Catch::Contains("metadata-only raw file") && Catch::Contains("bytes"));
  CHECK_THAT(r.output, Catch::Contains("Nikon D70 declares a 3040x2014 frame"));
  const auto copy = run / "outputs" / "tinydng_colorchart_CanonEOSKissX4_copy.dng";
  REQUIRE(fs::exists(copy));

  const auto run2 = dir.path() / "run2";
  auto back = lumen(
      {"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + copy.string(), "--run-dir", run2.string()});
  INFO(back.output);
  CHECK(back.exit_code == 0);
  // The copy holds the visible area only, so a second copy is byte-identical to the first.
  CHECK(e2e::read_text(run2 / "outputs" / "tinydng_colorchart_CanonEOSKissX4_copy_copy.dng") == e2e::read_text(copy));
}
