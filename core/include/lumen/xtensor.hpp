// xtensor views onto Lumen arrays, for plugin authors who like expressions.
//
// xtensor stays out of the plugin ABI: these are header-only adaptors over the raw memory
// of an Array, built in the plugin with the plugin's own xtensor settings.
#pragma once

#include <xtensor/xadapt.hpp>

#include "lumen/array.hpp"

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

/// Read-only xtensor expression over an array (no copy).
template <typename T> auto xview(const Array& a) {
  auto v = a.view<T>();
  return xt::adapt(v.data(), static_cast<std::size_t>(v.size()), xt::no_ownership(), detail::xt_shape(v.shape()),
                   detail::xt_strides(v));
}
/// Writable xtensor expression (the array is made unique and contiguous first).
template <typename T> auto xwritable(Array& a) {
  auto v = a.writable<T>();
  return xt::adapt(v.data(), static_cast<std::size_t>(v.size()), xt::no_ownership(), detail::xt_shape(v.shape()));
}

} // namespace lumen
