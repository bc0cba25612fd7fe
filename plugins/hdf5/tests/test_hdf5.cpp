#include "hdf5_io.hpp"

#include <catch2/catch.hpp>

TEST_CASE("hdf5 placeholder", "[hdf5]") { CHECK(lumen::hdf5::library_threadsafe()); }
