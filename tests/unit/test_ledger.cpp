#include "lumen/atomic_file.hpp"
#include "lumen/engine/ledger.hpp"
#include "lumen/engine/run_dir.hpp"

#include <catch2/catch.hpp>
#include <fstream>

namespace fs = std::filesystem;

namespace {
fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("lumen-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
} // namespace

TEST_CASE("stable_hash is stable and 128-bit", "[ledger]") {
  REQUIRE(lumen::engine::stable_hash("abc") == lumen::engine::stable_hash("abc"));
  REQUIRE(lumen::engine::stable_hash("abc") != lumen::engine::stable_hash("abd"));
  REQUIRE(lumen::engine::stable_hash("").size() == 32);
}

TEST_CASE("Ledger persists keys and ignores a torn last line", "[ledger]") {
  const auto dir = temp_dir("ledger");
  using lumen::engine::stable_hash;
  const auto k1 = stable_hash("k1"), k2 = stable_hash("k2"), k3 = stable_hash("k3");
  {
    lumen::engine::Ledger l(dir / "ledger.jsonl");
    l.record(k1, "unit1", "write");
    l.record(k2, "unit2", "write");
    l.record(k1, "unit1", "write"); // recorded once
    REQUIRE_THROWS_WITH(l.record("not-a-hash", "u", "w"), Catch::Contains("not a 32-digit hex hash"));
  }
  { std::ofstream(dir / "ledger.jsonl", std::ios::app) << R"({"key":")" << k3 << R"(","un)"; } // a kill mid-write
  lumen::engine::Ledger again(dir / "ledger.jsonl");
  REQUIRE(again.contains(k1));
  REQUIRE(again.contains(k2));
  REQUIRE_FALSE(again.contains(k3));
  REQUIRE(again.size() == 2);
  fs::remove_all(dir);
}

TEST_CASE("AtomicFile leaves nothing behind unless committed", "[atomic]") {
  const auto dir = temp_dir("atomic");
  {
    lumen::AtomicFile f(dir / "sub" / "out.bin");
    f.write("partial", 7);
    REQUIRE(fs::exists(f.temp_path()));
  } // destroyed without commit, as when a stage throws mid-write
  REQUIRE_FALSE(fs::exists(dir / "sub" / "out.bin"));
  REQUIRE(fs::is_empty(dir / "sub"));
  {
    lumen::AtomicFile f(dir / "sub" / "out.bin");
    f.write("complete", 8);
    REQUIRE(f.commit() == 8);
  }
  REQUIRE(fs::file_size(dir / "sub" / "out.bin") == 8);
  { std::ofstream(dir / "sub" / ".stale.123-0.lumen-tmp") << "left by a killed run"; }
  REQUIRE(lumen::engine::remove_temp_files(dir) == 1);
  REQUIRE(fs::exists(dir / "sub" / "out.bin"));
  fs::remove_all(dir);
}
