// End-to-end: the command line, plugin loading and pipeline errors, through the real binary.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>

using e2e::lumen;

namespace {
const std::string kPipeline = R"(pipeline: t
version: 1
stages:
  - id: src
    use: testkit.count
    with: {count: 3}
  - id: out
    use: testkit.write
    with:
      bytes: 10
)";

e2e::Result validate_with(const std::string& text, const std::string& name) {
  e2e::TempDir dir(name);
  e2e::write_text(dir.path() / "p.yaml", text);
  return lumen({"validate", (dir.path() / "p.yaml").string()});
}
} // namespace

TEST_CASE("lumen --version and --help", "[cli]") {
  auto v = lumen({"--version"});
  REQUIRE(v.exit_code == 0);
  REQUIRE_THAT(v.output, Catch::Contains("plugin ABI " LUMEN_EXPECTED_ABI_MAJOR "."));
  auto h = lumen({"--help"});
  REQUIRE(h.exit_code == 0);
  REQUIRE_THAT(h.output, Catch::Contains("Exit codes"));
  auto rh = lumen({"run", "--help"});
  REQUIRE(rh.exit_code == 0);
  REQUIRE_THAT(rh.output, Catch::Contains("--fail-fast"));
  auto bad = lumen({"rnu"});
  REQUIRE(bad.exit_code == 1);
  REQUIRE_THAT(bad.output, Catch::Contains("unknown command 'rnu' (did you mean 'run'?)"));
  auto badopt = lumen({"run", "x.yaml", "--thread", "2"});
  REQUIRE(badopt.exit_code == 1);
}

TEST_CASE("a plugin built for another ABI is refused with its message, others still load", "[plugins]") {
  auto r = lumen({"plugins", "--plugin-path", LUMEN_BROKEN_PLUGIN_DIR});
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output,
               Catch::Contains("lumen-abi_mismatch.so: has plugin ABI 99.0, host expects ABI " LUMEN_EXPECTED_ABI_MAJOR
                               ".0 to " LUMEN_EXPECTED_ABI_MAJOR "."));
  REQUIRE_THAT(r.output, Catch::Contains("testkit 1.0.0")); // the healthy plugin still loads
  REQUIRE_THAT(r.output, Catch::Contains("testkit.write"));
}

TEST_CASE("a shared object without the entry point is refused", "[plugins]") {
  auto r = lumen({"plugins", "--plugin-path", LUMEN_BROKEN_PLUGIN_DIR});
  REQUIRE_THAT(r.output, Catch::Contains("lumen-no_entry_point.so: has no entry point 'lumen_plugin_descriptor'"));
}

TEST_CASE("a plugin with another build fingerprint is refused", "[plugins]") {
  auto r = lumen({"plugins", "--json", "--plugin-path", LUMEN_BROKEN_PLUGIN_DIR});
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("was built as \\\"lumen-core-0.1;othercc-1"));
  auto m = lumen({"manifest", std::string(LUMEN_BROKEN_PLUGIN_DIR) + "/lumen-abi_mismatch.so"});
  REQUIRE(m.exit_code == 3);
}

TEST_CASE("inspect shows a stage's parameters, unknown stages get a suggestion", "[cli]") {
  auto r = lumen({"inspect", "testkit.write"});
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("bytes  (integer, default 100000, range 1 .. 100000000)"));
  auto j = lumen({"inspect", "testkit.write", "--json"});
  REQUIRE_THAT(j.output, Catch::Contains("\"kind\": \"writer\""));
  auto u = lumen({"inspect", "testkit.wrte"});
  REQUIRE(u.exit_code == 1);
  REQUIRE_THAT(u.output, Catch::Contains("did you mean 'testkit.write'?"));
}

TEST_CASE("validate accepts a good pipeline and reports the graph", "[pipeline]") {
  auto r = validate_with(kPipeline, "valid");
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.output, Catch::Contains("out (testkit.write, writer) <- src"));
}

TEST_CASE("unknown parameter: exit 1 with line and suggestion", "[pipeline]") {
  std::string t = kPipeline;
  t.replace(t.find("bytes: 10"), 9, "byts: 10");
  auto r = validate_with(t, "unknown-param");
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("p.yaml:10:7: error: stage 'out' (testkit.write): unknown parameter 'byts' "
                                         "(did you mean 'bytes'?)"));
}

TEST_CASE("misspelt stage name: exit 1 with line and suggestion", "[pipeline]") {
  std::string t = kPipeline;
  t.replace(t.find("testkit.count"), 13, "testkit.cuont");
  auto r = validate_with(t, "misspelt");
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("p.yaml:5:10: error: stage 'src': unknown stage 'testkit.cuont' (did you mean "
                                         "'testkit.count'?)"));
}

TEST_CASE("wrong type: exit 1 with line and the expected type", "[pipeline]") {
  std::string t = kPipeline;
  t.replace(t.find("bytes: 10"), 9, "bytes: [1, 2]");
  auto r = validate_with(t, "wrong-type");
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output,
               Catch::Contains("p.yaml:10:14: error: stage 'out' (testkit.write), parameter 'bytes': expected "
                               "a whole number such as 3 (type integer), got a list"));
}

TEST_CASE("out of range: exit 1 with line and the allowed range", "[pipeline]") {
  std::string t = kPipeline;
  t.replace(t.find("bytes: 10"), 9, "bytes: -5");
  auto r = validate_with(t, "range");
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("p.yaml:10:14: error: stage 'out' (testkit.write), parameter 'bytes': -5 is "
                                         "below the minimum 1 (allowed range: 1 to 100000000)"));
}

TEST_CASE("dangling from: exit 1 with line and suggestion", "[pipeline]") {
  auto r = validate_with(kPipeline + "    from: scr\n", "dangling");
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("p.yaml:11:11: error: stage 'out': 'from: scr' names no stage (did you mean "
                                         "'src'?)"));
}

TEST_CASE("bad --set values are reported against the command line", "[pipeline]") {
  e2e::TempDir dir("badset");
  e2e::write_text(dir.path() / "p.yaml", kPipeline);
  auto r = lumen(
      {"run", (dir.path() / "p.yaml").string(), "--set", "out.bytes=zero", "--run-dir", (dir.path() / "run").string()});
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("--set out.bytes: error: stage 'out' (testkit.write), parameter 'bytes': "
                                         "expected a whole number"));
  REQUIRE_FALSE(std::filesystem::exists(dir.path() / "run")); // nothing ran, nothing written
}

TEST_CASE("missing pipeline file is a clear error", "[pipeline]") {
  auto r = lumen({"run", "/nonexistent/pipeline.yaml"});
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("/nonexistent/pipeline.yaml: error: cannot read the pipeline file"));
}

TEST_CASE("check-plugin passes a conformant plugin and catches a stale manifest", "[plugins]") {
  const std::string so = std::string(LUMEN_TEST_PLUGIN_DIR) + "/lumen-testkit.so";
  auto ok = lumen({"check-plugin", so});
  INFO(ok.output);
  REQUIRE(ok.exit_code == 0);
  REQUIRE_THAT(ok.output, Catch::Contains("OK, plugin set 'testkit'"));

  e2e::TempDir dir("stale");
  std::filesystem::copy_file(so, dir.path() / "lumen-testkit.so");
  auto manifest = e2e::read_text(std::string(LUMEN_TEST_PLUGIN_DIR) + "/lumen-testkit.json");
  REQUIRE_THAT(manifest, Catch::Contains("\"name\": \"testkit.write\""));
  manifest.replace(manifest.find("\"default\": 100000"), 17, "\"default\": 99");
  e2e::write_text(dir.path() / "lumen-testkit.json", manifest);
  auto stale = lumen({"check-plugin", (dir.path() / "lumen-testkit.so").string()});
  REQUIRE(stale.exit_code == 1);
  REQUIRE_THAT(stale.output, Catch::Contains("is stale: it differs from what the plugin declares"));
  std::filesystem::remove(dir.path() / "lumen-testkit.json");
  auto missing = lumen({"check-plugin", (dir.path() / "lumen-testkit.so").string()});
  REQUIRE(missing.exit_code == 1);
  REQUIRE_THAT(missing.output, Catch::Contains("no manifest"));
}

TEST_CASE("check-plugin refuses a broken plugin with the loader's reason", "[plugins]") {
  auto r = lumen({"check-plugin", std::string(LUMEN_BROKEN_PLUGIN_DIR) + "/lumen-abi_mismatch.so"});
  REQUIRE(r.exit_code == 1);
  REQUIRE_THAT(r.output, Catch::Contains("has plugin ABI 99.0"));
}
