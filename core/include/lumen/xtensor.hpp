// xtensor views onto Lumen arrays, for plugin authors who like expressions.
//
// xtensor stays out of the plugin ABI: these are header-only adaptors over the raw memory
// of an Array, built in the plugin with the plugin's own xtensor settings. Link the plugin
// to the `xtensor` CMake target to use them.
#pragma once

#include "lumen/array.hpp"

#include <vector>
#include <xtensor/xadapt.hpp>

namespace lumen {

namespace detail {
inline std::vector<std::size_t> xt_shape(const Shape& s) {
  std::vector<std::size_t> out;
  for (int a = 0; a < s.ndim; ++a) out.push_back(static_cast<std::size_t>(s[a]));
  return out;
}
template <typename V> std::vector<std::size_t> xt_strides(const V& v) {
  std::vector<std::size_t> out;
  for (int a = 0; a < v.shape().ndim; ++a) out.push_back(static_cast<std::size_t>(v.stride(a)));
  return out;
}
} // namespace detail

/// Read-only xtensor expression over an array, strided views (crops) included; no copy.
template <typename T> auto xview(const Array& a) {
  auto v = a.view<T>();
  // xtensor sizes the buffer as the element count even when the strides span more memory.
  return xt::adapt(v.data(), static_cast<std::size_t>(v.size()), xt::no_ownership(), detail::xt_shape(v.shape()),
                   detail::xt_strides(v));
}

/// Writable xtensor expression (the array is made unique and contiguous first).
template <typename T> auto xwritable(Array& a) {
  auto v = a.writable<T>();
  return xt::adapt(v.data(), static_cast<std::size_t>(v.size()), xt::no_ownership(), detail::xt_shape(v.shape()));
}

} // namespace lumen
