// ADU -> electrons (see electrons.hpp for the formulas).
//
// Rows of an (H, W) mosaic are processed with a per-row-phase black row (the repeat unrolled to
// the image width), so the inner loop is a plain subtract-multiply the compiler vectorises.
//
// Example: Array e = lumen::calib::to_electrons(adu, {.gain = 2.1, .black = {512}}, pool.get());
#include "electrons.hpp"

#include "lumen/error.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <string>

namespace lumen::calib {

Array to_electrons(Array image, const ElectronsSpec& spec, ThreadPool* pool) {
  if (image.empty()) throw InputError("calib.electrons: the item has an empty image");
  const std::size_t sites = static_cast<std::size_t>(spec.rows) * static_cast<std::size_t>(spec.cols);
  if (spec.black.size() != sites || sites == 0)
    throw InputError("calib.electrons: " + std::to_string(spec.black.size()) + " black levels for a " +
                     std::to_string(spec.rows) + " x " + std::to_string(spec.cols) + " repeat");
  const bool per_site = sites > 1 && !spec.legacy;
  if (per_site && image.ndim() != 2)
    throw InputError("calib.electrons: black levels per CFA site need an (H, W) mosaic, got shape " +
                     image.shape().str());
  // An f32 image with gain 1 and black 0 (read noise 0 for legacy): the loop below would compute
  // (x - 0) * 1 (or x * 1 - 0), which is x for every float, -0 and infinities included, and NaN
  // for NaN (a signalling NaN would come out quietened, still NaN), so the
  // array is passed on untouched, not even copied.
  const bool identity = image.dtype() == DType::f32 && static_cast<float>(spec.gain) == 1.0f &&
                        (spec.legacy ? static_cast<float>(spec.read_noise) == 0.0f
                                     : std::all_of(spec.black.begin(), spec.black.end(),
                                                   [](double b) { return static_cast<float>(b) == 0.0f; }));
  if (identity) return image;
  const std::int64_t w = image.ndim() >= 1 ? image.dim(image.ndim() - 1) : 1;
  const std::int64_t h = image.size() / std::max<std::int64_t>(1, w);
  // f32 in place (writable() copies only a shared or strided array); other dtypes into a new f32.
  const bool in_place = image.dtype() == DType::f32;
  const Array src = in_place ? Array() : image.contiguous_copy();
  Array out = in_place ? std::move(image) : Array::uninitialized(DType::f32, image.shape());
  float* dst = out.writable<float>().data();
  const auto gain = static_cast<float>(spec.gain);

  // One black row per row phase (the repeat unrolled across the width).
  std::vector<std::vector<float>> black_rows(static_cast<std::size_t>(spec.rows));
  for (int r = 0; r < spec.rows; ++r) {
    auto& row = black_rows[static_cast<std::size_t>(r)];
    row.resize(static_cast<std::size_t>(w));
    for (std::int64_t x = 0; x < w; ++x)
      row[static_cast<std::size_t>(x)] =
          static_cast<float>(spec.black[static_cast<std::size_t>(r) * static_cast<std::size_t>(spec.cols) +
                                        static_cast<std::size_t>(x % spec.cols)]);
  }
  const auto black0 = static_cast<float>(spec.black[0]);
  const auto read_noise = static_cast<float>(spec.read_noise);

  visit_dtype(in_place ? DType::f32 : src.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = in_place ? reinterpret_cast<const T*>(dst) : static_cast<const T*>(src.raw());
    image::parallel_rows(pool, h, [&](std::int64_t y0, std::int64_t y1) {
      for (std::int64_t y = y0; y < y1; ++y) {
        const T* s = in + y * w; // may be d itself (in place): element i reads and writes only i
        float* d = dst + y * w;
        if (per_site) {
          const float* b = black_rows[static_cast<std::size_t>(y % spec.rows)].data();
          for (std::int64_t x = 0; x < w; ++x) d[x] = (static_cast<float>(s[x]) - b[x]) * gain;
        } else if (spec.legacy) {
          for (std::int64_t x = 0; x < w; ++x) d[x] = static_cast<float>(s[x]) * gain - read_noise;
        } else {
          for (std::int64_t x = 0; x < w; ++x) d[x] = (static_cast<float>(s[x]) - black0) * gain;
        }
      }
    });
  });
  return out;
}

} // namespace lumen::calib
