// Anti-aliased integer downsampling: the pixel math behind `image.downsample`.
//
// Output sample i of an axis sits at input position c_i = (i + 0.5) * factor - 0.5 (the centre
// of the factor x factor block it replaces), and is the Lanczos-3 weighted sum of the input
// samples within 3 * factor pixels of it:
//     w(t) = sinc(t / factor) * sinc(t / (3 * factor)),  |t| < 3 * factor,  normalised to sum 1,
// i.e. a windowed-sinc low-pass with its cutoff at the new Nyquist frequency 0.5 / factor
// cycles per input pixel, applied separably (rows, then columns) with mirrored edges
// (... c b | a b c ... : the edge sample is not repeated). Output size floor(H / factor) x
// floor(W / factor): 2848 x 4256 / 2 -> 1424 x 2128 (Sony A7S II), 4032 x 6032 / 4 -> 1008 x 1508
// (Fuji X-T30).
//
// Frequency response (the same for every factor, in units of the new Nyquist frequency):
// 1.00 +- 0.015 up to 0.6, 0.82 at 0.8, 0.50 at 1.0, 0.18 at 1.2, 0.07 at 1.3, 0.01 at 1.5 and
// below 0.01 beyond: a sinusoid that would alias is suppressed, detail well below the new
// Nyquist passes. A plain box average (the mean of each block) is not enough: its response
// |sin(pi f nu) / (pi f nu)| is still 0.64 at the new Nyquist and 0.50 at 1.2 x Nyquist, with side
// lobes of 0.2 further out, so half the amplitude of fine texture aliases into false patterns;
// pixel skipping passes everything (response 1 everywhere).
//
// Example pipeline, through the stage that wraps this:
//   - id: down
//     use: image.downsample
//     with: {factor: 2}
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

#include <cstdint>
#include <vector>

namespace lumen::image {

/// The filter of one axis: output sample i is sum_k weights[k] * in[i * factor + offset + k]
/// (indices mirrored at the edges).
struct LanczosTaps {
  int factor = 1;
  std::int64_t offset = 0;
  std::vector<float> weights;
};

/// The Lanczos-3 taps for `factor` (>= 1); factor 1 is the identity (one tap of weight 1).
[[nodiscard]] LanczosTaps lanczos_taps(int factor);

/// Index `k` mirrored into [0, n) (... 2 1 | 0 1 2 ... n-1 | n-2 ...), for any k.
[[nodiscard]] std::int64_t mirror_index(std::int64_t k, std::int64_t n) noexcept;

/// Downsamples an (H, W) or (H, W, C) array of any dtype by `factor` into f32
/// (floor(H / factor), floor(W / factor)[, C]). Rows are shared out over `pool` (may be null).
/// Throws lumen::InputError for other ranks or an image smaller than factor.
[[nodiscard]] Array downsample(const Array& image, int factor, ThreadPool* pool = nullptr);

} // namespace lumen::image
