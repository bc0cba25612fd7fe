#include "lumen/error.hpp"
#include "lumen/meta.hpp"

#include <catch2/catch.hpp>

TEST_CASE("Meta keeps insertion order and replaces in place", "[meta]") {
  lumen::Meta m;
  m.set("GAIN", 1.9, "e-/ADU", "electron/adu");
  m.set("INSTRUME", "STE3 CCD");
  m.set("NAXIS", 2);
  m.set("GAIN", 2.1, "updated");
  REQUIRE(m.size() == 3);
  REQUIRE(m.entries()[0].key == "GAIN");
  REQUIRE(m.get_number("GAIN") == 2.1);
  REQUIRE(m.find("GAIN")->comment == "updated");
  REQUIRE(m.get_number("NAXIS") == 2.0); // ints read as numbers
  REQUIRE(m.get_int("NAXIS") == 2);
  REQUIRE_FALSE(m.get_string("MISSING").has_value());
  REQUIRE_THROWS_WITH(m.get_int("GAIN"), Catch::Contains("'GAIN' holds a float, not an integer"));
  REQUIRE(m.erase("NAXIS"));
  REQUIRE_FALSE(m.has("NAXIS"));
}

TEST_CASE("Meta round-trips through JSON with comments and units", "[meta]") {
  lumen::Meta m;
  m.set("EXPTIME", 150.04, "exposure time", "s");
  m.set("FLAG", true);
  m.set("ORIGIN", std::vector<double>{1.5, -2.0, 3.0});
  m.set("OBJECT", "NGC1068 \"quoted\"");
  m.set("count", std::int64_t{1} << 40);
  const auto back = lumen::Meta::from_json(m.to_json());
  REQUIRE(back.size() == 5);
  REQUIRE(back.get_number("EXPTIME") == 150.04);
  REQUIRE(back.find("EXPTIME")->unit == "s");
  REQUIRE(back.find("EXPTIME")->comment == "exposure time");
  REQUIRE(back.get_bool("FLAG") == true);
  REQUIRE(back.get_list("ORIGIN") == std::vector<double>{1.5, -2.0, 3.0});
  REQUIRE(back.get_string("OBJECT") == "NGC1068 \"quoted\"");
  REQUIRE(back.get_int("count") == (std::int64_t{1} << 40));
  REQUIRE(back.entries()[3].key == "OBJECT");
}

TEST_CASE("Meta plain JSON form and bad JSON", "[meta]") {
  lumen::Meta m;
  m.set("a", 1);
  m.set("b", "x");
  REQUIRE(m.to_json() == R"({"a":1,"b":"x"})");
  REQUIRE_THROWS_AS(lumen::Meta::from_json("[1,2]"), lumen::Error);
  REQUIRE_THROWS_AS(lumen::Meta::from_json("{\"a\": {\"comment\": \"no value\"}}"), lumen::Error);
  REQUIRE_THROWS_AS(lumen::Meta::from_json("{not json"), lumen::Error);
}

TEST_CASE("Meta positive_number: header cards that may hold anything", "[meta]") {
  lumen::Meta m;
  m.set("GAIN", 1.9);
  m.set("CCDGAIN", std::int64_t{2});
  m.set("EGAIN", "N/A");
  m.set("RDNOISE", 0.0);
  m.set("RON", -3.0);
  m.set("FLAG", true);
  REQUIRE(m.positive_number("GAIN") == 1.9);
  REQUIRE(m.positive_number("CCDGAIN") == 2.0);
  REQUIRE_FALSE(m.positive_number("EGAIN"));   // a string: unknown, not an error
  REQUIRE_FALSE(m.positive_number("RDNOISE")); // 0 means unknown
  REQUIRE_FALSE(m.positive_number("RON"));
  REQUIRE_FALSE(m.positive_number("FLAG"));
  REQUIRE_FALSE(m.positive_number("ABSENT"));
  REQUIRE_THROWS_AS(m.get_number("EGAIN"), lumen::Error); // the strict getter still refuses
}
