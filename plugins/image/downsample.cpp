// Anti-aliased integer downsampling (see downsample.hpp for the filter and its response).
//
// One pass per output row, fused: the vertical filter accumulates the 6 * factor input rows of
// the output row into a row buffer (a contiguous multiply-add the compiler vectorises), then the
// horizontal filter reduces that buffer, padded with mirrored samples, to the output row. Memory
// beyond the output is one padded row per thread.
//
// Example: Array small = lumen::image::downsample(rgb, 4, pool.get());
#include "downsample.hpp"

#include "lumen/error.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace lumen::image {

namespace {

double sinc(double x) {
  if (x == 0.0) return 1.0;
  const double px = std::numbers::pi * x;
  return std::sin(px) / px;
}

} // namespace

std::int64_t mirror_index(std::int64_t k, std::int64_t n) noexcept {
  if (n <= 1) return 0;
  const std::int64_t period = 2 * (n - 1);
  k %= period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

LanczosTaps lanczos_taps(int factor) {
  LanczosTaps taps;
  taps.factor = std::max(1, factor);
  const int f = taps.factor;
  if (f == 1) {
    taps.weights = {1.0f};
    return taps;
  }
  // Output 0 is centred at c = 0.5 * f - 0.5; its taps are the inputs k with |k - c| < 3 f.
  const double c = 0.5 * f - 0.5, a = 3.0 * f;
  const auto first = static_cast<std::int64_t>(std::floor(c - a)) + 1;
  const auto last = static_cast<std::int64_t>(std::ceil(c + a)) - 1;
  taps.offset = first;
  std::vector<double> w;
  double sum = 0;
  for (std::int64_t k = first; k <= last; ++k) {
    const double t = static_cast<double>(k) - c;
    const double v = std::abs(t) < a ? sinc(t / f) * sinc(t / a) : 0.0;
    w.push_back(v);
    sum += v;
  }
  for (const double v : w) taps.weights.push_back(static_cast<float>(v / sum));
  return taps;
}

Array downsample(const Array& image, int factor, ThreadPool* pool) {
  if (image.empty() || !(image.ndim() == 2 || image.ndim() == 3))
    throw InputError("image.downsample needs an (H, W) or (H, W, C) image, got shape " + image.shape().str());
  if (factor < 1) throw Error("image.downsample: factor must be >= 1, got " + std::to_string(factor));
  if (image.ndim() == 3 && image.dim(2) > 4)
    throw InputError("image.downsample: shape " + image.shape().str() +
                     " looks like a stack of frames (N, H, W), not an (H, W, C) colour image with up to 4 channels; "
                     "downsample single frames");
  const std::int64_t h = image.dim(0), w = image.dim(1), ch = image.ndim() == 3 ? image.dim(2) : 1;
  if (h < factor || w < factor)
    throw InputError("image.downsample: an image of " + std::to_string(h) + " x " + std::to_string(w) +
                     " pixels is smaller than the factor " + std::to_string(factor));
  const std::int64_t oh = h / factor, ow = w / factor;
  const Array src = image.as(DType::f32).contiguous_copy();
  Shape out_shape = image.ndim() == 3 ? Shape{oh, ow, ch} : Shape{oh, ow};
  Array out = Array::uninitialized(DType::f32, out_shape);
  const float* in = static_cast<const float*>(src.raw());
  float* dst = out.writable<float>().data();
  const LanczosTaps taps = lanczos_taps(factor);
  const auto n_taps = static_cast<std::int64_t>(taps.weights.size());
  const std::int64_t row_len = w * ch;
  // Horizontal padding: output j reads inputs j * f + offset .. + n_taps - 1.
  const std::int64_t pad_left = std::max<std::int64_t>(0, -taps.offset);
  const std::int64_t pad_right = std::max<std::int64_t>(0, (ow - 1) * factor + taps.offset + n_taps - w);
  const std::int64_t padded = w + pad_left + pad_right;

  parallel_rows(pool, oh, [&](std::int64_t r0, std::int64_t r1) {
    std::vector<float> acc(static_cast<std::size_t>(row_len));
    std::vector<float> row(static_cast<std::size_t>(padded * ch));
    for (std::int64_t i = r0; i < r1; ++i) {
      // Vertical: acc = sum_k w[k] * in[mirror(i f + offset + k)].
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (std::int64_t k = 0; k < n_taps; ++k) {
        const float wk = taps.weights[static_cast<std::size_t>(k)];
        const float* __restrict s = in + mirror_index(i * factor + taps.offset + k, h) * row_len;
        float* __restrict a = acc.data();
        for (std::int64_t e = 0; e < row_len; ++e) a[e] += wk * s[e];
      }
      // Mirror-pad the filtered row, then the horizontal filter.
      std::copy(acc.begin(), acc.end(), row.begin() + pad_left * ch);
      for (std::int64_t x = 0; x < pad_left; ++x)
        std::copy_n(acc.begin() + mirror_index(x - pad_left, w) * ch, ch, row.begin() + x * ch);
      for (std::int64_t x = 0; x < pad_right; ++x)
        std::copy_n(acc.begin() + mirror_index(w + x, w) * ch, ch, row.begin() + (pad_left + w + x) * ch);
      float* o = dst + i * ow * ch;
      if (ch == 1) {
        for (std::int64_t j = 0; j < ow; ++j) {
          const float* s = row.data() + j * factor + taps.offset + pad_left;
          float v = 0;
          for (std::int64_t k = 0; k < n_taps; ++k) v += taps.weights[static_cast<std::size_t>(k)] * s[k];
          o[j] = v;
        }
      } else {
        std::fill(o, o + ow * ch, 0.0f);
        for (std::int64_t j = 0; j < ow; ++j) {
          const float* s = row.data() + (j * factor + taps.offset + pad_left) * ch;
          float* oj = o + j * ch;
          for (std::int64_t k = 0; k < n_taps; ++k) {
            const float wk = taps.weights[static_cast<std::size_t>(k)];
            for (std::int64_t c = 0; c < ch; ++c) oj[c] += wk * s[k * ch + c];
          }
        }
      }
    }
  });
  return out;
}

} // namespace lumen::image
