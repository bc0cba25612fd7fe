#include "../../core/src/json_line.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

TEST_CASE("JsonLine escapes strings and writes numbers that JSON parsers read back", "[events]") {
  lumen::engine::JsonLine j;
  const std::string tricky = "quote \" backslash \\ newline \n tab \t bell \a and UTF-8 \xc3\xa9";
  j.str("message", tricky).num("count", std::uint64_t{18446744073709551615ull}).num("neg", std::int64_t{-5});
  j.num("seconds", 0.1);
  const std::string line = j.finish();
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1); // one line
  const auto parsed = nlohmann::json::parse(line);
  REQUIRE(parsed["message"] == tricky);
  REQUIRE(parsed["count"].get<std::uint64_t>() == 18446744073709551615ull);
  REQUIRE(parsed["neg"] == -5);
  REQUIRE(parsed["seconds"].get<double>() == 0.1);
}
