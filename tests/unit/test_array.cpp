#include "lumen/array.hpp"
#include "lumen/item.hpp"

#include <catch2/catch.hpp>

using lumen::Array;
using lumen::DType;

TEST_CASE("Array allocates zeroed contiguous storage", "[array]") {
  Array a(DType::u16, {3, 4});
  REQUIRE(a.ndim() == 2);
  REQUIRE(a.size() == 12);
  REQUIRE(a.nbytes() == 24);
  REQUIRE(a.contiguous());
  for (auto v : a.view<std::uint16_t>().span()) REQUIRE(v == 0);
}

TEST_CASE("Array views check their dtype", "[array]") {
  Array a(DType::f32, {2, 2});
  REQUIRE_THROWS_WITH(a.view<double>(), Catch::Contains("f64 view of a f32 array"));
}

TEST_CASE("Array copies share storage and writable() copies on write", "[array]") {
  Array a(DType::i32, {2, 3});
  auto w = a.writable<std::int32_t>();
  for (std::int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<std::int32_t>(i);
  Array b = a; // shares storage
  REQUIRE(a.shared());
  b.writable<std::int32_t>().at(0, 0) = 100;
  REQUIRE(b.view<std::int32_t>().at(0, 0) == 100);
  REQUIRE(a.view<std::int32_t>().at(0, 0) == 0); // the other holder is untouched
  REQUIRE(a.view<std::int32_t>().at(1, 2) == 5);
}

TEST_CASE("Array slice and crop are views; clone compacts them", "[array]") {
  Array a(DType::u8, {4, 5, 6});
  auto w = a.writable<std::uint8_t>();
  for (std::int64_t i = 0; i < w.size(); ++i) w.data()[i] = static_cast<std::uint8_t>(i % 251);

  const Array frames = a.slice(1, 3);
  REQUIRE(frames.dim(0) == 2);
  REQUIRE(frames.contiguous());
  REQUIRE(frames.view<std::uint8_t>().at(0, 0, 0) == a.view<std::uint8_t>().at(1, 0, 0));

  const Array roi = a.crop(1, 2, 3, 4);
  REQUIRE(roi.shape() == lumen::Shape{4, 3, 4});
  REQUIRE_FALSE(roi.contiguous());
  REQUIRE(roi.view<std::uint8_t>().at(2, 1, 3) == a.view<std::uint8_t>().at(2, 2, 5));
  REQUIRE_THROWS_AS(roi.view<std::uint8_t>().span(), lumen::Error);

  const Array compact = roi.clone();
  REQUIRE(compact.contiguous());
  for (std::int64_t z = 0; z < 4; ++z)
    for (std::int64_t y = 0; y < 3; ++y)
      for (std::int64_t x = 0; x < 4; ++x)
        REQUIRE(compact.view<std::uint8_t>().at(z, y, x) == a.view<std::uint8_t>().at(z, y + 1, x + 2));

  REQUIRE_THROWS_WITH(a.crop(0, 0, 6, 1), Catch::Contains("outside shape"));
  REQUIRE_THROWS_WITH(a.slice(3, 5), Catch::Contains("outside axis 0"));
}

TEST_CASE("Array crop of a colour image uses axes 0 and 1", "[array]") {
  Array rgb(DType::u8, {10, 8, 3});
  rgb.writable<std::uint8_t>().at(4, 5, 2) = 9; // at(z,y,x) on (H,W,C) is (y,x,c)
  const Array c = rgb.crop(3, 4, 2, 2, 0);
  REQUIRE(c.shape() == lumen::Shape{2, 2, 3});
  REQUIRE(c.clone().view<std::uint8_t>().at(1, 1, 2) == 9);
}

TEST_CASE("Array converts dtypes with a static_cast", "[array]") {
  Array a(DType::u16, {2});
  a.writable<std::uint16_t>().data()[0] = 65535;
  a.writable<std::uint16_t>().data()[1] = 7;
  const Array f = a.as(DType::f32);
  REQUIRE(f.dtype() == DType::f32);
  REQUIRE(f.view<float>().data()[0] == 65535.0f);
  REQUIRE(f.view<float>().data()[1] == 7.0f);
  REQUIRE(a.as(DType::u16).raw() == a.raw()); // no copy when the dtype matches
}

TEST_CASE("Array rejects absurd shapes and unknown dtype names", "[array]") {
  REQUIRE_THROWS_WITH(Array(DType::u8, {1, 2, 3, 4, 5}), Catch::Contains("at most 4"));
  REQUIRE_THROWS_WITH(Array(DType::f64, {1 << 30, 1 << 30}), Catch::Contains("too large"));
  REQUIRE_THROWS_WITH(lumen::dtype_from_name("complex64"), Catch::Contains("unknown dtype 'complex64'"));
  REQUIRE(lumen::dtype_from_name("float32") == DType::f32);
}

TEST_CASE("Array::wrap keeps foreign memory alive", "[array]") {
  auto buffer = std::make_shared<std::vector<float>>(6, 1.5f);
  Array a = Array::wrap(DType::f32, {2, 3}, buffer->data(), buffer);
  buffer.reset();
  REQUIRE(a.view<float>().at(1, 2) == 1.5f);
  a.writable<float>().at(0, 0) = 2.0f; // wrapped memory is copied before writing
  REQUIRE(a.view<float>().at(0, 0) == 2.0f);
}

TEST_CASE("Item image<T>() converts in place and reports missing arrays", "[item]") {
  lumen::Item item("frame/0001");
  item.set("image", Array(DType::u16, {2, 2}));
  auto img = item.image<float>();
  REQUIRE(item.array("image").dtype() == DType::f32);
  img.at(0, 0) = 3.5f;
  REQUIRE(item.array("image").view<float>().at(0, 0) == 3.5f);
  REQUIRE_THROWS_WITH(item.array("mask"), Catch::Contains("item 'frame/0001' has no array 'mask' (it has: image)"));
  const auto child = item.derive("t0003");
  REQUIRE(child.id() == "frame/0001/t0003");
  REQUIRE(child.provenance.parent_id == "frame/0001");
  REQUIRE_FALSE(child.has("image"));
}
