// End-to-end: running pipelines, failures, resume and killed runs, through the real binary.
#include "run_lumen.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <thread>

namespace fs = std::filesystem;
using e2e::lumen;

namespace {
std::string pipeline(int count, const std::string& fail, int bytes = 1000, int sleep_ms = 0) {
  std::string p = "pipeline: t\nversion: 1\nvars:\n  log: \"\"\nstages:\n  - id: src\n    use: testkit.count\n"
                  "    with: {count: " +
                  std::to_string(count) + ", read_log: \"${log}\"}\n";
  if (!fail.empty()) p += "  - id: boom\n    use: testkit.throw\n    with: {fail_indices: " + fail + "}\n";
  if (sleep_ms > 0) p += "  - id: nap\n    use: testkit.sleep\n    with: {ms: " + std::to_string(sleep_ms) + "}\n";
  p += "  - id: out\n    use: testkit.write\n    with: {bytes: " + std::to_string(bytes) + "}\n";
  return p;
}

} // namespace

TEST_CASE("a run writes config, events, outputs and ledger", "[run]") {
  e2e::TempDir dir("run");
  e2e::write_text(dir.path() / "p.yaml", pipeline(5, ""));
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string(), "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(e2e::count_files(run / "outputs", ".txt") == 5);
  REQUIRE_THAT(e2e::read_text(run / "config.yaml"), Catch::Contains("bytes: 1000"));
  REQUIRE(e2e::events(run, "run_start").size() == 1);
  REQUIRE(e2e::events(run, "item_done").size() == 5);
  REQUIRE(e2e::events(run, "output_written").size() == 5);
  REQUIRE(e2e::events(run, "stage_end").size() == 2);
  REQUIRE_THAT(e2e::events(run, "run_end").at(0), Catch::Contains("\"status\":\"ok\""));
  REQUIRE(fs::exists(run / "artifacts"));
}

TEST_CASE("a throwing stage gives exit code 2 with the failure in the events file", "[run]") {
  e2e::TempDir dir("throw");
  e2e::write_text(dir.path() / "p.yaml", pipeline(6, "[2, 4]"));
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run, "item_failed");
  REQUIRE(failed.size() == 2);
  REQUIRE_THAT(failed[0], Catch::Contains("\"stage\":\"boom\""));
  REQUIRE_THAT(failed[0], Catch::Contains("deliberate failure of item"));
  REQUIRE(e2e::count_files(run / "outputs", ".txt") == 4); // the run went on
  REQUIRE_THAT(e2e::events(run, "run_end").at(0), Catch::Contains("\"status\":\"items_failed\""));
  REQUIRE_THAT(r.output, Catch::Contains("item 'item2' failed: testkit.throw: deliberate failure of item 2"));
}

TEST_CASE("fail-fast stops the run at the first failure", "[run]") {
  e2e::TempDir dir("failfast");
  e2e::write_text(dir.path() / "p.yaml", pipeline(200, "[0]", 1000, 2));
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string(), "--fail-fast", "--threads", "1"});
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(e2e::events(run, "run_end").at(0), Catch::Contains("\"status\":\"stopped\""));
  REQUIRE(e2e::count_files(run / "outputs", ".txt") < 200);
}

TEST_CASE("re-running into the same run directory skips completed units and redoes what changed", "[resume]") {
  e2e::TempDir dir("rerun");
  const auto run = dir.path() / "run";
  const auto reads = dir.path() / "reads";
  const auto p = (dir.path() / "p.yaml").string();
  const auto with_log = [&](std::string text) {
    return text.replace(text.find("log: \"\""), 7, "log: \"" + reads.string() + "\"");
  };
  e2e::write_text(p, with_log(pipeline(6, "[3]")));
  REQUIRE(lumen({"run", p, "--run-dir", run.string()}).exit_code == 2);
  REQUIRE(e2e::count_files(reads, "") == 6);

  // Same pipeline again: only the unit that failed is read again (and fails again).
  fs::remove_all(reads);
  auto second = lumen({"run", p, "--run-dir", run.string()});
  INFO(second.output);
  REQUIRE(second.exit_code == 2);
  REQUIRE(e2e::count_files(reads, "") == 1);
  REQUIRE(fs::exists(reads / "item3"));
  REQUIRE_THAT(second.output, Catch::Contains("5 of 6 work units are already complete"));

  // A parameter upstream of the writer changed: every unit's key changed, all are redone.
  fs::remove_all(reads);
  e2e::write_text(p, with_log(pipeline(6, "[]")));
  REQUIRE(lumen({"run", p, "--run-dir", run.string()}).exit_code == 0);
  REQUIRE(e2e::count_files(reads, "") == 6);

  // Nothing changed: nothing is read.
  fs::remove_all(reads);
  auto again = lumen({"run", p, "--run-dir", run.string()});
  INFO(again.output);
  REQUIRE(again.exit_code == 0);
  REQUIRE_THAT(again.output, Catch::Contains("6 of 6 work units are already complete"));
  REQUIRE(e2e::count_files(reads, "") == 0);
}

TEST_CASE("resume redoes only the units that did not finish", "[resume]") {
  e2e::TempDir dir("resume-partial");
  const auto run = dir.path() / "run";
  const auto reads = dir.path() / "reads";
  e2e::write_text(dir.path() / "p.yaml", pipeline(8, "[5, 6]"));
  const auto p = (dir.path() / "p.yaml").string();
  REQUIRE(lumen({"run", p, "--run-dir", run.string(), "--set", "vars.log=" + reads.string()}).exit_code == 2);
  fs::remove_all(reads);
  // resume re-reads exactly the failed units (5, 6), which fail again, and nothing else.
  auto r = lumen({"resume", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  REQUIRE(e2e::count_files(reads, "") == 2);
  REQUIRE(fs::exists(reads / "item5"));
  REQUIRE(fs::exists(reads / "item6"));
  // --from the writer redoes every unit's writer branch.
  fs::remove_all(reads);
  auto from = lumen({"resume", run.string(), "--from", "out"});
  REQUIRE(from.exit_code == 2);
  REQUIRE(e2e::count_files(reads, "") == 8);
  auto bad = lumen({"resume", run.string(), "--from", "ot"});
  REQUIRE(bad.exit_code == 1);
  REQUIRE_THAT(bad.output, Catch::Contains("did you mean 'out'?"));
}

TEST_CASE("a run killed with SIGKILL and re-run finishes with complete, untruncated outputs", "[resume]") {
  e2e::TempDir dir("kill");
  const auto run = dir.path() / "run";
  const int count = 60, bytes = 200000;
  e2e::write_text(dir.path() / "p.yaml", pipeline(count, "", bytes, 20));
  const auto p = (dir.path() / "p.yaml").string();
  const std::string cmd = "NO_COLOR=1 " + e2e::quote(LUMEN_BIN) + " run " + e2e::quote(p) + " --run-dir " +
                          e2e::quote(run.string()) + " --plugin-path " + e2e::quote(LUMEN_TEST_PLUGIN_DIR) +
                          " --threads 2 >/dev/null 2>&1 & pid=$!; sleep 0.6; kill -9 $pid; wait $pid; echo killed";
  auto killed = e2e::shell(cmd);
  REQUIRE_THAT(killed.output, Catch::Contains("killed"));
  const auto partial = e2e::count_files(run / "outputs", ".txt");
  INFO("files after the kill: " << partial);
  REQUIRE(partial < static_cast<std::size_t>(count)); // it really was interrupted
  for (const auto& e : fs::directory_iterator(run / "outputs"))
    if (e.path().extension() == ".txt") REQUIRE(fs::file_size(e.path()) == static_cast<std::uintmax_t>(bytes));

  auto rerun = lumen({"run", p, "--run-dir", run.string()});
  INFO(rerun.output);
  REQUIRE(rerun.exit_code == 0);
  REQUIRE(e2e::count_files(run / "outputs", ".txt") == static_cast<std::size_t>(count));
  std::size_t temps = 0;
  for (const auto& e : fs::recursive_directory_iterator(run)) {
    if (e.path().extension() == ".txt") REQUIRE(fs::file_size(e.path()) == static_cast<std::uintmax_t>(bytes));
    if (e.path().string().find(".lumen-tmp") != std::string::npos) ++temps;
  }
  REQUIRE(temps == 0);
}

TEST_CASE("Ctrl-C stops a run in order: status interrupted, exit 3, no partial files", "[resume]") {
  e2e::TempDir dir("sigint");
  const auto run = dir.path() / "run";
  e2e::write_text(dir.path() / "p.yaml", pipeline(100, "", 100000, 20));
  const auto p = (dir.path() / "p.yaml").string();
  const std::string cmd =
      "NO_COLOR=1 " + e2e::quote(LUMEN_BIN) + " run " + e2e::quote(p) + " --run-dir " + e2e::quote(run.string()) +
      " --plugin-path " + e2e::quote(LUMEN_TEST_PLUGIN_DIR) +
      " --threads 2 >/dev/null 2>&1 & pid=$!; sleep 0.5; kill -INT $pid; wait $pid; echo \"exit=$?\"";
  auto r = e2e::shell(cmd);
  REQUIRE_THAT(r.output, Catch::Contains("exit=3"));
  REQUIRE_THAT(e2e::events(run, "run_end").at(0), Catch::Contains("\"status\":\"interrupted\""));
  REQUIRE(e2e::count_files(run / "outputs", ".txt") < 100);
  for (const auto& e : fs::recursive_directory_iterator(run))
    REQUIRE(e.path().string().find(".lumen-tmp") == std::string::npos);
  auto rerun = lumen({"run", p, "--run-dir", run.string()});
  REQUIRE(rerun.exit_code == 0);
  REQUIRE(e2e::count_files(run / "outputs", ".txt") == 100);
}

TEST_CASE("a stage that asks for ordered input gets items in source order", "[run]") {
  e2e::TempDir dir("ordered");
  const auto p = (dir.path() / "p.yaml").string();
  const auto text = [](const std::string& check) {
    return "pipeline: o\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n    with: {count: 60}\n"
           "  - id: shuffle\n    use: testkit.jitter\n  - id: check\n    use: testkit." +
           check + "\n";
  };
  e2e::write_text(p, text("expect_order"));
  auto ordered = lumen({"run", p, "--run-dir", (dir.path() / "ordered").string(), "--threads", "4"});
  INFO(ordered.output);
  REQUIRE(ordered.exit_code == 0);
  // The control: the same pipeline without the request sees items out of order, so the
  // check above can fail.
  e2e::write_text(p, text("observe_order"));
  auto unordered = lumen({"run", p, "--run-dir", (dir.path() / "unordered").string(), "--threads", "4"});
  REQUIRE(unordered.exit_code == 2);
  REQUIRE_THAT(unordered.output, Catch::Contains("out of order"));
}

TEST_CASE("an aggregator sees every item and emits in finish", "[run]") {
  e2e::TempDir dir("aggregate");
  e2e::write_text(dir.path() / "p.yaml", "pipeline: agg\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n"
                                         "    with: {count: 7}\n  - id: all\n    use: testkit.collect\n  - id: out\n"
                                         "    use: testkit.write\n    with: {name: \"{id}-{count}.txt\", bytes: 3}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(fs::exists(run / "outputs" / "summary-7.txt"));
}

TEST_CASE("branches: one source feeds two writers", "[run]") {
  e2e::TempDir dir("branches");
  e2e::write_text(dir.path() / "p.yaml",
                  "pipeline: fan\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n    with: {count: 4}\n"
                  "  - id: a\n    use: testkit.write\n    with: {name: \"a/{id}.txt\", bytes: 5}\n"
                  "  - id: b\n    use: testkit.write\n    from: src\n    with: {name: \"b/{id}.txt\", bytes: 7}\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(e2e::count_files(run / "outputs" / "a", ".txt") == 4);
  REQUIRE(e2e::count_files(run / "outputs" / "b", ".txt") == 4);
  REQUIRE(fs::file_size(run / "outputs" / "b" / "item3.txt") == 7);
}

TEST_CASE("units a stage does not accept: caught by validate when known, at run time otherwise", "[pipeline]") {
  e2e::TempDir dir("units");
  const auto p = (dir.path() / "p.yaml").string();
  e2e::write_text(p, "pipeline: u\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n"
                     "  - id: cal\n    use: testkit.to_electrons\n  - id: need\n    use: testkit.adu_only\n");
  auto v = lumen({"validate", p});
  REQUIRE(v.exit_code == 1);
  REQUIRE_THAT(v.output, Catch::Contains("p.yaml:8:5: error: stage 'need' (testkit.adu_only) requires units adu, but "
                                         "its input from 'cal' is in units 'electrons'"));
  e2e::write_text(p, "pipeline: u\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n"
                     "    with: {units: photons}\n  - id: need\n    use: testkit.adu_only\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", p, "--run-dir", run.string()});
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(e2e::events(run, "item_failed").at(0),
               Catch::Contains("testkit.adu_only requires units adu, but item 'item"));
  REQUIRE(e2e::events(run, "item_failed").size() == 3);

  // A required meta key that an item lacks fails that item with a message naming the key.
  e2e::write_text(p, "pipeline: u\nversion: 1\nstages:\n  - id: src\n    use: testkit.count\n"
                     "  - id: all\n    use: testkit.collect\n  - id: boom\n    use: testkit.throw\n");
  const auto run2 = dir.path() / "run2";
  auto m = lumen({"run", p, "--run-dir", run2.string()});
  REQUIRE(m.exit_code == 2);
  REQUIRE_THAT(e2e::events(run2, "item_failed").at(0),
               Catch::Contains("testkit.throw requires the meta key 'index', which item 'summary' does not have"));
}

TEST_CASE("the shipped demo pipeline runs, and its PNGs read back through png.read", "[demo]") {
  e2e::TempDir dir("demo");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", std::string(LUMEN_SOURCE_DIR) + "/pipelines/demo.yaml", "--set", "vars.count=3", "--set",
                  "vars.size=128", "--run-dir", run.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  REQUIRE(e2e::count_files(run / "outputs", ".png") == 3);
  REQUIRE(fs::exists(run / "outputs" / "starfield_0002.png"));

  e2e::write_text(dir.path() / "back.yaml", "pipeline: back\nversion: 1\nvars:\n  input: \"\"\nstages:\n"
                                            "  - id: in\n    use: png.read\n    with: {path: \"${input}\"}\n"
                                            "  - id: out\n    use: png.write\n    with: {name: \"copy_{stem}.png\"}\n");
  auto back = lumen({"run", (dir.path() / "back.yaml").string(), "--set", "vars.input=" + (run / "outputs").string(),
                     "--run-dir", (dir.path() / "back").string()});
  INFO(back.output);
  REQUIRE(back.exit_code == 0);
  REQUIRE(e2e::count_files(dir.path() / "back" / "outputs", ".png") == 3);
  REQUIRE(e2e::read_text(dir.path() / "back" / "outputs" / "copy_starfield_0001.png") ==
          e2e::read_text(run / "outputs" / "starfield_0001.png")); // same pixels, same encoder settings
}

TEST_CASE("a reader whose input matches nothing fails clearly and the run reports it", "[run]") {
  e2e::TempDir dir("nomatch");
  e2e::write_text(dir.path() / "p.yaml",
                  "pipeline: p\nversion: 1\nstages:\n  - id: in\n    use: png.read\n"
                  "    with: {path: /nonexistent/frames_*.png}\n  - id: out\n    use: png.write\n");
  const auto run = dir.path() / "run";
  auto r = lumen({"run", (dir.path() / "p.yaml").string(), "--run-dir", run.string()});
  REQUIRE(r.exit_code == 2);
  REQUIRE_THAT(e2e::events(run, "item_failed").at(0),
               Catch::Contains("path '/nonexistent/frames_*.png': no file matches"));
}

TEST_CASE("a corrupt input file fails its item, the others are written", "[run]") {
  e2e::TempDir dir("corrupt");
  const auto run = dir.path() / "run";
  REQUIRE(lumen({"run", std::string(LUMEN_SOURCE_DIR) + "/pipelines/demo.yaml", "--set", "vars.count=3", "--set",
                 "vars.size=64", "--run-dir", run.string()})
              .exit_code == 0);
  const auto input = dir.path() / "input";
  fs::create_directories(input);
  for (const auto& e : fs::directory_iterator(run / "outputs")) fs::copy_file(e.path(), input / e.path().filename());
  const auto victim = input / "starfield_0001.png";
  const auto full = e2e::read_text(victim);
  e2e::write_text(victim, full.substr(0, full.size() / 2)); // truncated
  e2e::write_text(dir.path() / "p.yaml", "pipeline: p\nversion: 1\nvars:\n  input: \"\"\nstages:\n  - id: in\n"
                                         "    use: png.read\n    with: {path: \"${input}\"}\n  - id: out\n"
                                         "    use: png.write\n");
  const auto run2 = dir.path() / "run2";
  auto r = lumen(
      {"run", (dir.path() / "p.yaml").string(), "--set", "vars.input=" + input.string(), "--run-dir", run2.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 2);
  const auto failed = e2e::events(run2, "item_failed");
  REQUIRE(failed.size() == 1);
  REQUIRE_THAT(failed[0], Catch::Contains("starfield_0001.png"));
  REQUIRE(e2e::count_files(run2 / "outputs", ".png") == 2);
}
