// Loading only what a pipeline uses: a plugin whose manifest is current and names none of the
// wanted stages or sets stays unloaded (its stage names still serve suggestions); a missing or
// stale manifest, or a wanted stage, loads it.
#include "lumen/engine/plugin_registry.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;
using lumen::engine::PluginRegistry;

namespace {
bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
} // namespace

TEST_CASE("plugins load from their manifests only when a pipeline needs them", "[plugins][manifest]") {
  const fs::path dir = fs::temp_directory_path() / ("lumen-plugin-index-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path so = dir / "lumen-testkit.so", json = dir / "lumen-testkit.json";
  fs::copy_file(fs::path(LUMEN_TEST_PLUGIN_DIR) / "lumen-testkit.so", so);
  fs::copy_file(fs::path(LUMEN_TEST_PLUGIN_DIR) / "lumen-testkit.json", json);
  fs::last_write_time(json, fs::last_write_time(so) + std::chrono::seconds(1));

  {
    PluginRegistry r;
    r.load_needed({dir}, {"synth.starfield"}, {"png"});
    CHECK(r.plugins().empty()); // not needed: known from the manifest only
    CHECK(r.find("testkit.throw") == nullptr);
    CHECK(has(r.stage_names(), "testkit.throw"));
  }
  {
    PluginRegistry r;
    r.load_needed({dir}, {"testkit.throw"}, {});
    REQUIRE(r.plugins().size() == 1);
    CHECK(r.find("testkit.throw") != nullptr);
  }
  {
    PluginRegistry r; // a required set loads its plugin too
    r.load_needed({dir}, {}, {"testkit"});
    CHECK(r.plugins().size() == 1);
  }
  {
    // A manifest older than its plugin is not trusted: the plugin loads.
    fs::last_write_time(json, fs::last_write_time(so) - std::chrono::seconds(10));
    PluginRegistry r;
    r.load_needed({dir}, {}, {});
    CHECK(r.plugins().size() == 1);
  }
  {
    fs::remove(json); // no manifest: loads
    PluginRegistry r;
    r.load_needed({dir}, {}, {});
    CHECK(r.plugins().size() == 1);
  }
  fs::remove_all(dir);
}
