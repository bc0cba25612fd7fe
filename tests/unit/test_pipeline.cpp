#include "lumen/engine/pipeline.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace lumen::engine;

namespace {
const PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = false;
  if (!loaded) {
    r.load({LUMEN_TEST_PLUGIN_DIR});
    loaded = true;
  }
  return r;
}

ResolvedPipeline load(const std::string& text, const std::vector<Override>& o = {}) {
  return load_pipeline_text(text, "p.yaml", o, registry());
}

std::string error_of(const std::string& text, const std::vector<Override>& o = {}) {
  try {
    (void)load(text, o);
  } catch (const PipelineError& e) {
    return e.what();
  }
  return "no error";
}

const char* kBase = R"(pipeline: t
version: 1
vars:
  n: 4
  fails: [1, 2]
stages:
  - id: src
    use: testkit.count
    with: {count: "${n}"}
  - id: boom
    use: testkit.throw
    with:
      fail_indices: "${fails}"
  - id: out
    use: testkit.write
)";
} // namespace

TEST_CASE("pipeline: vars are substituted with their YAML type and defaults filled", "[pipeline]") {
  REQUIRE(registry().find("testkit.count") != nullptr);
  auto p = load(kBase);
  REQUIRE(p.stages.size() == 3);
  REQUIRE(p.stages[1].inputs == std::vector<std::size_t>{0});
  REQUIRE(p.stages[0].params[0].first == "count");
  REQUIRE(std::get<std::int64_t>(p.stages[0].params[0].second) == 4);
  REQUIRE(std::get<std::vector<std::int64_t>>(p.stages[1].params[0].second) == std::vector<std::int64_t>{1, 2});
  REQUIRE(std::get<std::string>(p.stages[2].params[0].second) == "{id}.txt"); // default
  const auto yaml = p.resolved_yaml();
  REQUIRE_THAT(yaml, Catch::Contains("fail_indices: [1, 2]"));
  REQUIRE_THAT(yaml, Catch::Contains("plugin set testkit 1.0.0"));
}

TEST_CASE("pipeline: --set overrides vars and parameters", "[pipeline]") {
  auto p = load(kBase, {parse_override("vars.n=7"), parse_override("out.bytes=10")});
  REQUIRE(std::get<std::int64_t>(p.stages[0].params[0].second) == 7);
  REQUIRE(std::get<std::int64_t>(p.stages[2].params[1].second) == 10);
  REQUIRE_THAT(error_of(kBase, {parse_override("vars.nn=1")}),
               Catch::Contains("declares no var 'nn' (did you mean 'n'?)"));
  REQUIRE_THAT(error_of(kBase, {parse_override("otu.bytes=1")}), Catch::Contains("(did you mean 'out'?)"));
  REQUIRE_THROWS_AS(parse_override("novalue"), PipelineError);
}

TEST_CASE("pipeline: errors carry file, line, column and a suggestion", "[pipeline]") {
  std::string t = kBase;
  const auto misspelt = error_of(std::string(t).replace(t.find("testkit.write"), 13, "testkit.wirte"));
  REQUIRE_THAT(misspelt, Catch::Contains("p.yaml:15:10: error: stage 'out': unknown stage 'testkit.wirte' (did you "
                                         "mean 'testkit.write'?)"));
  const auto unknown_param = error_of(std::string(t) + "    with: {byts: 5}\n");
  REQUIRE_THAT(unknown_param, Catch::Contains("p.yaml:16:12: error: stage 'out' (testkit.write): unknown parameter "
                                              "'byts' (did you mean 'bytes'?)"));
  const auto wrong_type = error_of(std::string(t) + "    with: {bytes: lots}\n");
  REQUIRE_THAT(wrong_type, Catch::Contains("p.yaml:16:19: error:"));
  REQUIRE_THAT(wrong_type, Catch::Contains("expected a whole number such as 3 (type integer), got 'lots'"));
  const auto range = error_of(std::string(t) + "    with: {bytes: 0}\n");
  REQUIRE_THAT(range, Catch::Contains("0 is below the minimum 1"));
  const auto dangling = error_of(std::string(t) + "    from: bom\n");
  REQUIRE_THAT(dangling, Catch::Contains("p.yaml:16:11: error: stage 'out': 'from: bom' names no stage (did you mean "
                                         "'boom'?)"));
  const auto topkey = error_of("pipline: x\n" + std::string(t));
  REQUIRE_THAT(topkey, Catch::Contains("p.yaml:1:1: error: unknown key 'pipline' in the pipeline file (did you mean "
                                       "'pipeline'?)"));
  const auto var = error_of(std::string(t).replace(t.find("${n}"), 4, "${m}"));
  REQUIRE_THAT(var, Catch::Contains("unknown var '${m}' (did you mean 'n'?)"));
}

TEST_CASE("pipeline: structure errors", "[pipeline]") {
  REQUIRE_THAT(error_of("pipeline: x\nversion: 2\nstages: []\n"), Catch::Contains("format version 2"));
  REQUIRE_THAT(error_of("pipeline: x\nversion: 1\nstages:\n  - id: a\n    use: testkit.throw\n"),
               Catch::Contains("is first but is not a reader"));
  REQUIRE_THAT(error_of("pipeline: x\nversion: 1\nstages:\n  - id: a\n    use: testkit.count\n  - id: a\n    use: "
                        "testkit.write\n"),
               Catch::Contains("stage id 'a' is used twice"));
  REQUIRE_THAT(error_of("pipeline: [unclosed\n"), Catch::Contains("not valid YAML"));
  REQUIRE_THAT(error_of("pipeline: x\nversion: 1\nstages:\n  - id: a\n    use: testkit.count\n    with: {units: "
                        "volts}\n"),
               Catch::Contains("\"volts\" is not one of: adu, electrons, photons, normalized, counts"));
}

TEST_CASE("pipeline: stage hashes change with parameters only", "[pipeline]") {
  const auto a = load(kBase);
  const auto b = load(kBase);
  const auto c = load(kBase, {parse_override("out.bytes=5")});
  REQUIRE(a.stage_hash(2) == b.stage_hash(2));
  REQUIRE(a.stage_hash(2) != c.stage_hash(2));
  REQUIRE(a.stage_hash(0) == c.stage_hash(0));
}

TEST_CASE("pipeline: ${pipeline_dir} is the pipeline file's directory, unless the file declares it", "[pipeline]") {
  const auto dir = std::filesystem::temp_directory_path() / ("lumen-pipeline-dir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "sub");
  const auto file = dir / "sub" / "p.yaml";
  {
    std::ofstream out(file);
    out << "pipeline: t\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n  - id: out\n"
           "    use: testkit.write\n    with: {name: \"${pipeline_dir}/x.txt\"}\n";
  }
  const auto p = load_pipeline(file, {}, registry());
  CHECK(std::get<std::string>(p.stages[1].params[0].second) ==
        (std::filesystem::absolute(dir / "sub") / "x.txt").string());
  // A declared var of that name wins.
  const auto q =
      load("pipeline: t\nversion: 1\nvars: {pipeline_dir: here}\nstages:\n  - id: src\n"
           "    use: testkit.count\n  - id: out\n    use: testkit.write\n    with: {name: \"${pipeline_dir}/x\"}\n");
  CHECK(std::get<std::string>(q.stages[1].params[0].second) == "here/x");
  std::filesystem::remove_all(dir);
}
