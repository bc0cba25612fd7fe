#include "lumen/error.hpp"
#include "lumen/name_template.hpp"

#include <catch2/catch.hpp>

TEST_CASE("File-name templates expand item fields and meta", "[names]") {
  lumen::Item item("scene7/t0003");
  item.provenance.source_file = "/data/raw/DSC01234.ARW";
  item.meta.set("index", 42);
  item.meta.set("domain", "photography");
  item.meta.set("mean", 0.123456);
  REQUIRE(lumen::expand_name("{stem}_{index:04d}.png", item, "write") == "DSC01234_0042.png");
  REQUIRE(lumen::expand_name("{domain}/{id}.png", item, "write") == "photography/scene7_t0003.png");
  REQUIRE(lumen::expand_name("{stage}-{mean:.2f}", item, "write") == "write-0.12");
  REQUIRE_THROWS_WITH(lumen::expand_name("{nope}.png", item, "w"), Catch::Contains("{nope} is not a known field"));
  item.meta.set("evil", "../../etc");
  REQUIRE_THROWS_WITH(lumen::expand_name("{evil}/x", item, "w"), Catch::Contains("would leave the output directory"));
}

TEST_CASE("Malformed file-name templates are config errors", "[names]") {
  REQUIRE_NOTHROW(lumen::check_name_pattern("{id}_{index:04d}.png", "name"));
  REQUIRE_THROWS_AS(lumen::check_name_pattern("{id.png", "name"), lumen::ConfigError);
  REQUIRE_THROWS_WITH(lumen::check_name_pattern("{index:%n}.png", "name"), Catch::Contains("unsupported format spec"));
  REQUIRE_THROWS_WITH(lumen::check_name_pattern("", "name"), Catch::Contains("empty"));
}
