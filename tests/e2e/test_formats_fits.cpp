// End-to-end: the `fits` set through the real `lumen` binary: the real sample files read,
// written (with checksums) and read back; a multi-extension file split into SCI items; a
// corrupt file fails its item with a clear message while the run goes on.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {

const char* kPipeline = "pipeline: fits_copy\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                        "  - id: in\n    use: fits.read\n    with: {path: \"${input}\"}\n"
                        "  - id: out\n    use: fits.write\n    with: {checksum: true}\n";

} // namespace

TEST_CASE("fits.read -> fits.write over the real samples, read back, corrupt file fails alone", "[formats][fits]") {
  if (!fs::exists(e2e::shared_data("fits") / "gemini_GMOS-N_multi_mef.fits")) {
    WARN("SKIPPED: shared FITS samples not found under " << e2e::shared_data("fits").string());
    return;
  }
  e2e::TempDir dir("fits-e2e");
  const auto input = dir.path() / "input";
  fs::create_directories(input);
  for (const char* f : {"saao1m_STE3_a8280271.fits", "gemini_GMOS-N_multi_mef.fits", "ctio4m_mosaic2_tpv.fits"})
    fs::copy_file(e2e::shared_data("fits") / f, input / f);
  // A truncated copy: its item fails, the others are written.
  const std::string saao = e2e::read_text(input / "saao1m_STE3_a8280271.fits");
  e2e::write_text(input / "broken.fits", saao.substr(0, saao.size() / 2));
  e2e::write_text(dir.path() / "p.yaml", kPipeline);

  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + input.string(), "--run-dir",
                  run.string(), "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0], Catch::Contains("broken.fits") && Catch::Contains("truncated FITS file"));
  // saao (1) + gemini (3 SCI) + ctio (1)
  CHECK(e2e::count_files(run / "outputs", ".fits") == 5);
  CHECK(e2e::events(run, "output_written").size() == 5);

  // The outputs read back, and pass fitsverify when it is installed.
  const auto run2 = dir.path() / "run2";
  auto back = lumen({"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + (run / "outputs").string(),
                     "--run-dir", run2.string()});
  INFO(back.output);
  CHECK(back.exit_code == 0);
  CHECK(e2e::count_files(run2 / "outputs", ".fits") == 5);
  if (std::system("command -v fitsverify >/dev/null 2>&1") == 0) {
    for (const auto& e : fs::recursive_directory_iterator(run / "outputs"))
      if (e.path().extension() == ".fits") {
        const auto v = e2e::shell("fitsverify -e -q " + e2e::quote(e.path().string()));
        INFO(v.output);
        CHECK_THAT(v.output, Catch::Contains("0 errors") || Catch::Contains("verification OK"));
      }
  } else {
    WARN("SKIPPED: fitsverify not installed");
  }
}

TEST_CASE("fits.read with a missing HDU names the HDUs the file has", "[formats][fits]") {
  if (!fs::exists(e2e::shared_data("fits") / "gemini_GMOS-N_multi_mef.fits")) {
    WARN("SKIPPED: shared FITS samples not found under " << e2e::shared_data("fits").string());
    return;
  }
  e2e::TempDir dir("fits-e2e-hdu");
  e2e::write_text(dir.path() / "p.yaml", kPipeline);
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--set",
                  "vars.input=" + (e2e::shared_data("fits") / "gemini_GMOS-N_multi_mef.fits").string(), "--set",
                  "in.hdu=SCI,7", "--run-dir", run.string()});
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("no HDU with EXTNAME SCI and EXTVER 7") && Catch::Contains("3 SCI,3 image"));
}
