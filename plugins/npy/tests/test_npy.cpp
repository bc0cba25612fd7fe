// Unit tests for the `npy` set (being written).
#include "npy_io.hpp"

#include <catch2/catch.hpp>

TEST_CASE("half floats convert exactly in npy", "[npy][io]") {
  CHECK(lumen::npy::half_to_float(0x3c00) == 1.0f);
}
