#include "lumen/xtensor.hpp"

#include <catch2/catch.hpp>
#include <xtensor/xmath.hpp>

TEST_CASE("xtensor adaptors read crops in place and write through", "[xtensor]") {
  lumen::Array a(lumen::DType::f32, {4, 6});
  auto w = a.writable<float>();
  for (std::int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>(i);

  const lumen::Array crop = a.crop(1, 2, 2, 3); // rows 1-2, columns 2-4: a strided view
  const auto x = lumen::xview<float>(crop);
  REQUIRE(x.shape()[0] == 2);
  REQUIRE(x.shape()[1] == 3);
  REQUIRE(x(0, 0) == 8.0f);
  REQUIRE(x(1, 2) == 16.0f);
  REQUIRE(xt::sum(x)() == Approx(8.0 + 9 + 10 + 14 + 15 + 16));

  lumen::Array b = a; // shared: xwritable must not change `a`
  auto xb = lumen::xwritable<float>(b);
  xb *= 2.0f;
  REQUIRE(b.view<float>().at(3, 5) == 46.0f);
  REQUIRE(a.view<float>().at(3, 5) == 23.0f);
}
