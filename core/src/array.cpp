#include "lumen/array.hpp"

#include "buffer_cache.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <sys/mman.h>

namespace lumen {

std::size_t dtype_size(DType t) noexcept {
  switch (t) {
  case DType::u8:
    return 1;
  case DType::u16:
  case DType::i16:
    return 2;
  case DType::u32:
  case DType::i32:
  case DType::f32:
    return 4;
  case DType::f64:
    return 8;
  }
  return 1;
}

std::string_view dtype_name(DType t) noexcept {
  switch (t) {
  case DType::u8:
    return "u8";
  case DType::u16:
    return "u16";
  case DType::i16:
    return "i16";
  case DType::u32:
    return "u32";
  case DType::i32:
    return "i32";
  case DType::f32:
    return "f32";
  case DType::f64:
    return "f64";
  }
  return "?";
}

DType dtype_from_name(std::string_view n) {
  struct Alias {
    std::string_view a, b;
    DType t;
  };
  static constexpr Alias aliases[] = {{"u8", "uint8", DType::u8},    {"u16", "uint16", DType::u16},
                                      {"i16", "int16", DType::i16},  {"u32", "uint32", DType::u32},
                                      {"i32", "int32", DType::i32},  {"f32", "float32", DType::f32},
                                      {"f64", "float64", DType::f64}};
  for (const auto& a : aliases)
    if (n == a.a || n == a.b) return a.t;
  throw Error("unknown dtype '" + std::string(n) + "': expected one of u8, u16, i16, u32, i32, f32, f64");
}

Shape::Shape(std::initializer_list<std::int64_t> d) {
  if (d.size() > static_cast<std::size_t>(kMaxDims))
    throw Error("Shape: at most " + std::to_string(kMaxDims) + " dimensions, got " + std::to_string(d.size()));
  for (auto v : d) {
    if (v < 0) throw Error("Shape: negative dimension " + std::to_string(v));
    dims[static_cast<std::size_t>(ndim++)] = v;
  }
}

std::int64_t Shape::size() const noexcept {
  if (ndim == 0) return 0;
  std::int64_t n = 1;
  for (int a = 0; a < ndim; ++a) n *= dims[static_cast<std::size_t>(a)];
  return n;
}

std::string Shape::str() const {
  std::string s = "(";
  for (int a = 0; a < ndim; ++a) s += (a ? ", " : "") + std::to_string(dims[static_cast<std::size_t>(a)]);
  return s + ")";
}

bool operator==(const Shape& a, const Shape& b) noexcept {
  if (a.ndim != b.ndim) return false;
  for (int i = 0; i < a.ndim; ++i)
    if (a.dims[static_cast<std::size_t>(i)] != b.dims[static_cast<std::size_t>(i)]) return false;
  return true;
}

// Storage is either owned (aligned heap block) or borrowed with a keep-alive handle.
namespace {
// A large fresh buffer costs one page fault per 4 KiB page on first touch, which for a 64 MiB
// image takes longer than reading the file from the page cache. Asking for transparent huge
// pages (where the system grants them on request) cuts the faults 512-fold.
void prefer_huge_pages(void* data, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  if (bytes < 2 * huge) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}
} // namespace

namespace {
// Owned buffers go back to the buffer cache (large ones) or the heap.
struct Release {
  std::size_t capacity;
  void operator()(std::byte* p) const noexcept {
    if (!detail::BufferCache::instance().give(p, capacity)) detail::free_aligned(p, capacity);
  }
};
} // namespace

struct Array::Storage {
  std::unique_ptr<std::byte[], Release> owned{nullptr, Release{0}};
  std::shared_ptr<void> keep_alive;
  std::byte* data = nullptr;
  std::size_t bytes = 0;

  static std::shared_ptr<Storage> allocate(std::size_t bytes) {
    auto s = std::make_shared<Storage>();
    std::size_t capacity = 0;
    std::byte* data = detail::BufferCache::instance().take(bytes, capacity);
    if (!data) {
      capacity = std::max<std::size_t>(bytes, 1);
      data = detail::allocate_aligned(capacity);
      prefer_huge_pages(data, capacity);
    }
    s->owned = std::unique_ptr<std::byte[], Release>(data, Release{capacity});
    s->data = data;
    s->bytes = bytes;
    return s;
  }
};

namespace {
std::array<std::int64_t, kMaxDims> contiguous_strides(const Shape& s) {
  std::array<std::int64_t, kMaxDims> st{};
  std::int64_t acc = 1;
  for (int a = s.ndim - 1; a >= 0; --a) {
    st[static_cast<std::size_t>(a)] = acc;
    acc *= s[a];
  }
  return st;
}

void check_shape(const Shape& shape) {
  if (shape.ndim < 1 || shape.ndim > kMaxDims)
    throw Error("Array: rank must be 1.." + std::to_string(kMaxDims) + ", got " + std::to_string(shape.ndim));
  constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;
  std::int64_t n = 1;
  for (int a = 0; a < shape.ndim; ++a) {
    if (shape[a] < 0) throw Error("Array: negative dimension in shape " + shape.str());
    if (shape[a] > 0 && n > kMaxElements / shape[a]) throw Error("Array: shape " + shape.str() + " is too large");
    n *= shape[a];
  }
}

template <typename F> void dispatch(DType t, F&& f) {
  switch (t) {
  case DType::u8:
    f(std::uint8_t{});
    break;
  case DType::u16:
    f(std::uint16_t{});
    break;
  case DType::i16:
    f(std::int16_t{});
    break;
  case DType::u32:
    f(std::uint32_t{});
    break;
  case DType::i32:
    f(std::int32_t{});
    break;
  case DType::f32:
    f(float{});
    break;
  case DType::f64:
    f(double{});
    break;
  }
}

// Copies the elements of `src` (any strides) into contiguous memory at `dst`, in C order.
template <typename S, typename D>
void copy_elements(const S* src, const Shape& shape, const std::array<std::int64_t, kMaxDims>& st, D* dst) {
  std::array<std::int64_t, kMaxDims> d{1, 1, 1, 1}, s{0, 0, 0, 0};
  const int off = kMaxDims - shape.ndim; // right-align into 4-D
  for (int a = 0; a < shape.ndim; ++a) {
    d[static_cast<std::size_t>(a + off)] = shape[a];
    s[static_cast<std::size_t>(a + off)] = st[static_cast<std::size_t>(a)];
  }
  for (std::int64_t i0 = 0; i0 < d[0]; ++i0)
    for (std::int64_t i1 = 0; i1 < d[1]; ++i1)
      for (std::int64_t i2 = 0; i2 < d[2]; ++i2) {
        const S* row = src + i0 * s[0] + i1 * s[1] + i2 * s[2];
        if (s[3] == 1 && std::is_same_v<S, D>) {
          std::memcpy(dst, row, static_cast<std::size_t>(d[3]) * sizeof(D));
          dst += d[3];
        } else {
          for (std::int64_t i3 = 0; i3 < d[3]; ++i3) *dst++ = static_cast<D>(row[i3 * s[3]]);
        }
      }
}
} // namespace

Array::Array(DType dtype, const Shape& shape) : Array(uninitialized(dtype, shape)) {
  std::memset(storage_->data, 0, storage_->bytes);
}

Array Array::uninitialized(DType dtype, const Shape& shape) {
  check_shape(shape);
  Array a;
  a.dtype_ = dtype;
  a.shape_ = shape;
  a.strides_ = contiguous_strides(shape);
  a.storage_ = Storage::allocate(static_cast<std::size_t>(shape.size()) * dtype_size(dtype));
  return a;
}

Array Array::wrap(DType dtype, const Shape& shape, void* data, std::shared_ptr<void> keep_alive) {
  check_shape(shape);
  Array a;
  a.dtype_ = dtype;
  a.shape_ = shape;
  a.strides_ = contiguous_strides(shape);
  a.storage_ = std::make_shared<Storage>();
  a.storage_->keep_alive = std::move(keep_alive);
  a.storage_->data = static_cast<std::byte*>(data);
  a.storage_->bytes = static_cast<std::size_t>(shape.size()) * dtype_size(dtype);
  return a;
}

bool Array::contiguous() const noexcept {
  return strides_ == contiguous_strides(shape_) || size() <= 1;
}

const void* Array::raw() const noexcept {
  return storage_ ? storage_->data + offset_ * static_cast<std::int64_t>(dtype_size(dtype_)) : nullptr;
}
void* Array::raw() noexcept {
  return storage_ ? storage_->data + offset_ * static_cast<std::int64_t>(dtype_size(dtype_)) : nullptr;
}

void Array::check_dtype(DType want) const {
  if (empty()) throw Error("Array: the array is empty");
  if (want != dtype_)
    throw Error("Array: requested a " + std::string(dtype_name(want)) + " view of a " +
                std::string(dtype_name(dtype_)) + " array " + shape_.str());
}

void Array::make_unique_contiguous() {
  if (storage_.use_count() == 1 && contiguous() && !storage_->keep_alive) return;
  *this = clone();
}

Array Array::slice(std::int64_t begin, std::int64_t end) const {
  if (empty()) throw Error("Array::slice: the array is empty");
  if (begin < 0 || end < begin || end > shape_[0])
    throw Error("Array::slice: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") is outside axis 0 of shape " + shape_.str());
  Array a = *this;
  a.shape_.dims[0] = end - begin;
  a.offset_ += begin * strides_[0];
  return a;
}

Array Array::crop(std::int64_t y0, std::int64_t x0, std::int64_t h, std::int64_t w, int y_axis) const {
  if (empty() || ndim() < 2) throw Error("Array::crop: needs an array of rank 2 or more, got " + shape_.str());
  const int ya = y_axis < 0 ? ndim() - 2 : y_axis;
  const int xa = ya + 1;
  if (xa >= ndim())
    throw Error("Array::crop: axis " + std::to_string(ya) + " has no following x axis in " + shape_.str());
  const bool ok = y0 >= 0 && x0 >= 0 && h >= 0 && w >= 0 && y0 + h <= shape_[ya] && x0 + w <= shape_[xa];
  if (!ok)
    throw Error("Array::crop: rectangle y " + std::to_string(y0) + "+" + std::to_string(h) + ", x " +
                std::to_string(x0) + "+" + std::to_string(w) + " is outside shape " + shape_.str());
  Array a = *this;
  a.shape_.dims[static_cast<std::size_t>(ya)] = h;
  a.shape_.dims[static_cast<std::size_t>(xa)] = w;
  a.offset_ += y0 * strides_[static_cast<std::size_t>(ya)] + x0 * strides_[static_cast<std::size_t>(xa)];
  return a;
}

Array Array::reshape(const Shape& shape) const {
  check_shape(shape);
  if (shape.size() != size())
    throw Error("Array::reshape: cannot reshape " + shape_.str() + " to " + shape.str() + " (sizes differ)");
  Array a = contiguous() ? *this : contiguous_copy();
  a.shape_ = shape;
  a.strides_ = contiguous_strides(shape);
  return a;
}

Array Array::contiguous_copy() const {
  return contiguous() ? *this : clone();
}

Array Array::clone() const {
  if (empty()) return {};
  Array out = uninitialized(dtype_, shape_);
  dispatch(dtype_, [&](auto tag) {
    using T = decltype(tag);
    copy_elements(static_cast<const T*>(raw()), shape_, strides_, static_cast<T*>(out.raw()));
  });
  return out;
}

Array Array::as(DType dtype) const {
  if (empty() || dtype == dtype_) return *this;
  Array out = uninitialized(dtype, shape_);
  dispatch(dtype_, [&](auto src_tag) {
    using S = decltype(src_tag);
    dispatch(dtype, [&](auto dst_tag) {
      using D = decltype(dst_tag);
      copy_elements(static_cast<const S*>(raw()), shape_, strides_, static_cast<D*>(out.raw()));
    });
  });
  return out;
}

} // namespace lumen
