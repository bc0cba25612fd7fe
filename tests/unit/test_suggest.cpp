#include "lumen/engine/suggest.hpp"

#include <catch2/catch.hpp>

using namespace lumen::engine;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps", "[suggest]") {
  REQUIRE(edit_distance("png.write", "png.write") == 0);
  REQUIRE(edit_distance("png.wirte", "png.write") == 1); // swap
  REQUIRE(edit_distance("compresion", "compression") == 1);
  REQUIRE(edit_distance("abc", "") == 3);
}

TEST_CASE("closest match suggests likely typos only", "[suggest]") {
  const std::vector<std::string> names{"png.write", "png.read", "image.to8bit", "synth.starfield"};
  REQUIRE(closest_match("png.wirte", names) == "png.write");
  REQUIRE(closest_match("synth.starfeld", names) == "synth.starfield");
  REQUIRE(closest_match("fits.read", names).empty());
  REQUIRE(did_you_mean("imge.to8bit", names) == " (did you mean 'image.to8bit'?)");
}
