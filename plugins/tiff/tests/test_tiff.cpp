#include "tiff_io.hpp"

#include <catch2/catch.hpp>

TEST_CASE("tiff placeholder", "[tiff]") { CHECK(lumen::tiff::can_encode("none")); }
