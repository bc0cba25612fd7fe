// Array: a plain N-d buffer with reference-counted storage.
//
// Arrays are cheap to copy (the storage is shared); `writable<T>()` detaches the storage
// first when someone else still holds it (copy on write), so a stage can modify an image in
// place without affecting a branch that received the same item. `slice` and `crop` give
// views that share storage; views may be strided, `contiguous()` compacts one when needed.
#pragma once

#include "lumen/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace lumen {

enum class DType : std::uint8_t { u8, u16, i16, u32, i32, f32, f64 };

inline constexpr int kMaxDims = 4;

[[nodiscard]] std::size_t dtype_size(DType t) noexcept;
[[nodiscard]] std::string_view dtype_name(DType t) noexcept;
/// Parses "u8", "uint8", "f32", "float32", ...; throws lumen::Error for unknown names.
[[nodiscard]] DType dtype_from_name(std::string_view name);

template <typename T> struct dtype_of;
template <> struct dtype_of<std::uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<std::uint16_t> { static constexpr DType value = DType::u16; };
template <> struct dtype_of<std::int16_t> { static constexpr DType value = DType::i16; };
template <> struct dtype_of<std::uint32_t> { static constexpr DType value = DType::u32; };
template <> struct dtype_of<std::int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <typename T> inline constexpr DType dtype_of_v = dtype_of<std::remove_const_t<T>>::value;

/// Calls `f` with a value-initialised object of the C++ type of `t` (`f(std::uint16_t{})`), so
/// element loops are instantiated once per dtype and pixels never pay for a dispatch:
///   visit_dtype(a.dtype(), [&]<typename T>(T) { for (T v : a.view<T>()) ...; });
template <typename F> decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
  case DType::u8:
    return f(std::uint8_t{});
  case DType::u16:
    return f(std::uint16_t{});
  case DType::i16:
    return f(std::int16_t{});
  case DType::u32:
    return f(std::uint32_t{});
  case DType::i32:
    return f(std::int32_t{});
  case DType::f32:
    return f(float{});
  case DType::f64:
    break;
  }
  return f(double{});
}

/// Shape and strides (in elements), outermost axis first; unused axes are 1 / 0.
struct Shape {
  int ndim = 0;
  std::array<std::int64_t, kMaxDims> dims{};

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> d);
  [[nodiscard]] std::int64_t size() const noexcept;
  [[nodiscard]] std::int64_t operator[](int axis) const noexcept { return dims[axis]; }
  [[nodiscard]] std::string str() const;
  friend bool operator==(const Shape& a, const Shape& b) noexcept;
};

/// A typed view onto array memory. For a 2-D image, axis 0 is rows (y), axis 1 columns (x).
template <typename T> class NdView {
public:
  NdView(T* data, const Shape& shape, const std::array<std::int64_t, kMaxDims>& strides)
      : data_(data), shape_(shape), strides_(strides) {}

  [[nodiscard]] T* data() const noexcept { return data_; }
  [[nodiscard]] const Shape& shape() const noexcept { return shape_; }
  [[nodiscard]] std::int64_t stride(int axis) const noexcept { return strides_[axis]; }
  [[nodiscard]] std::int64_t size() const noexcept { return shape_.size(); }
  [[nodiscard]] bool contiguous() const noexcept {
    std::int64_t expect = 1;
    for (int a = shape_.ndim - 1; a >= 0; --a) {
      if (shape_[a] > 1 && strides_[a] != expect) return false;
      expect *= shape_[a];
    }
    return true;
  }
  /// Flat span over all elements; requires a contiguous view (throws otherwise).
  [[nodiscard]] std::span<T> span() const {
    if (!contiguous()) throw Error("NdView::span: view is strided; call Array::contiguous() first");
    return {data_, static_cast<std::size_t>(size())};
  }
  [[nodiscard]] T* begin() const { return span().data(); }
  [[nodiscard]] T* end() const { return span().data() + size(); }

  /// Pointer to the first element of row `y` of a 2-D view (or of plane 0 for higher rank
  /// views use `at`). Rows are contiguous when stride(1) == 1.
  [[nodiscard]] T* row(std::int64_t y) const noexcept { return data_ + y * strides_[shape_.ndim - 2]; }
  [[nodiscard]] T& at(std::int64_t y, std::int64_t x) const noexcept {
    return data_[y * strides_[shape_.ndim - 2] + x * strides_[shape_.ndim - 1]];
  }
  [[nodiscard]] T& at(std::int64_t z, std::int64_t y, std::int64_t x) const noexcept {
    return data_[z * strides_[shape_.ndim - 3] + y * strides_[shape_.ndim - 2] + x * strides_[shape_.ndim - 1]];
  }

private:
  T* data_;
  Shape shape_;
  std::array<std::int64_t, kMaxDims> strides_;
};

class Array {
public:
  Array() = default;
  /// Allocates a zero-filled contiguous array.
  Array(DType dtype, const Shape& shape);
  /// Allocates a contiguous array without initialising it (the caller fills every element).
  static Array uninitialized(DType dtype, const Shape& shape);
  /// Wraps memory owned elsewhere; `keep_alive` keeps it valid while the array lives.
  static Array wrap(DType dtype, const Shape& shape, void* data, std::shared_ptr<void> keep_alive);

  [[nodiscard]] bool empty() const noexcept { return !storage_; }
  [[nodiscard]] DType dtype() const noexcept { return dtype_; }
  [[nodiscard]] const Shape& shape() const noexcept { return shape_; }
  [[nodiscard]] int ndim() const noexcept { return shape_.ndim; }
  [[nodiscard]] std::int64_t dim(int axis) const noexcept { return shape_[axis]; }
  [[nodiscard]] std::int64_t size() const noexcept { return shape_.size(); }
  [[nodiscard]] std::size_t nbytes() const noexcept { return static_cast<std::size_t>(size()) * dtype_size(dtype_); }
  [[nodiscard]] std::int64_t stride(int axis) const noexcept { return strides_[axis]; }
  [[nodiscard]] bool contiguous() const noexcept;
  /// True when another Array shares this storage.
  [[nodiscard]] bool shared() const noexcept { return storage_ && storage_.use_count() > 1; }

  /// Read-only typed view; throws when T does not match dtype().
  template <typename T> [[nodiscard]] NdView<const T> view() const {
    check_dtype(dtype_of_v<T>);
    return {static_cast<const T*>(raw()), shape_, strides_};
  }
  /// Writable, contiguous typed view. Copies the storage first when it is shared or the
  /// array is a strided view, so writes never leak into other holders.
  template <typename T> [[nodiscard]] NdView<T> writable() {
    check_dtype(dtype_of_v<T>);
    make_unique_contiguous();
    return {static_cast<T*>(raw()), shape_, strides_};
  }

  /// View of indices [begin, end) along axis 0 (frames of a stack, rows of an image).
  [[nodiscard]] Array slice(std::int64_t begin, std::int64_t end) const;
  /// View of the rectangle [y0, y0+h) x [x0, x0+w) over axes (y_axis, y_axis + 1); the
  /// default -1 means the last two axes ((H, W) images, (N, H, W) stacks). Pass 0 for
  /// (H, W, C) colour images.
  [[nodiscard]] Array crop(std::int64_t y0, std::int64_t x0, std::int64_t h, std::int64_t w, int y_axis = -1) const;
  /// Same elements with a new shape; requires a contiguous array and an equal size.
  [[nodiscard]] Array reshape(const Shape& shape) const;
  /// This array if already contiguous, else a compact copy.
  [[nodiscard]] Array contiguous_copy() const;
  /// Deep copy (always new storage).
  [[nodiscard]] Array clone() const;
  /// Converted copy with a static_cast per element (no scaling); this array when
  /// the dtype already matches.
  [[nodiscard]] Array as(DType dtype) const;

  [[nodiscard]] const void* raw() const noexcept;
  [[nodiscard]] void* raw() noexcept;

private:
  struct Storage;
  void check_dtype(DType want) const;
  void make_unique_contiguous();

  DType dtype_ = DType::u8;
  Shape shape_;
  std::array<std::int64_t, kMaxDims> strides_{};
  std::shared_ptr<Storage> storage_;
  std::int64_t offset_ = 0; // in elements
};

} // namespace lumen
