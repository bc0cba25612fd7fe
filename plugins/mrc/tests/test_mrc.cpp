// Unit tests for the `mrc` set (being written).
#include "mrc_io.hpp"

#include <catch2/catch.hpp>

TEST_CASE("half floats convert exactly", "[mrc][io]") {
  CHECK(lumen::mrc::half_to_float(0x3c00) == 1.0f);
}
