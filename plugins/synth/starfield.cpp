// Synthetic star fields: rendering, noise and sensor defects (see starfield.hpp).
//
// Example pipeline, through the stage that wraps this:
//   - id: sky
//     use: synth.starfield
//     with: {count: 4, stars: 500, fwhm_px: 3.0}
#include "starfield.hpp"

#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <type_traits>

namespace lumen::synth {

namespace {

// Independent random streams derived from the seed.
constexpr std::uint64_t kStreamCatalogue = 1;
constexpr std::uint64_t kStreamHotPixels = 2;
constexpr std::uint64_t kStreamNoise = 3;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::size_t pixel_count(const StarfieldSpec& spec) {
  return static_cast<std::size_t>(spec.width) * static_cast<std::size_t>(spec.height);
}

} // namespace

std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream, std::int64_t index) noexcept {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ static_cast<std::uint64_t>(index));
}

std::vector<Star> star_catalogue(const StarfieldSpec& spec) {
  std::vector<Star> stars;
  if (spec.stars <= 0) return stars;
  stars.reserve(static_cast<std::size_t>(spec.stars));
  std::mt19937_64 rng(stream_seed(spec.seed, kStreamCatalogue, 0));
  std::uniform_real_distribution<double> ux(-0.5, static_cast<double>(spec.width) - 0.5);
  std::uniform_real_distribution<double> uy(-0.5, static_cast<double>(spec.height) - 0.5);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  const double f_max = std::max(spec.peak_e_max, 0.0);
  const double f_min = f_max / 1000.0;
  for (std::int64_t i = 0; i < spec.stars; ++i) {
    Star s;
    s.x = ux(rng);
    s.y = uy(rng);
    const double u = u01(rng);
    if (i == 0 || f_max <= 0.0) {
      s.peak_e = f_max;
    } else {
      // Inverse CDF of dN/dF ~ F^-2 truncated to [f_min, f_max].
      s.peak_e = 1.0 / (1.0 / f_min - u * (1.0 / f_min - 1.0 / f_max));
    }
    stars.push_back(s);
  }
  return stars;
}

std::vector<HotPixel> hot_pixel_map(const StarfieldSpec& spec) {
  std::vector<HotPixel> hot;
  if (spec.hot_pixels <= 0) return hot;
  hot.reserve(static_cast<std::size_t>(spec.hot_pixels));
  std::mt19937_64 rng(stream_seed(spec.seed, kStreamHotPixels, 0));
  std::uniform_int_distribution<std::int64_t> ux(0, spec.width - 1);
  std::uniform_int_distribution<std::int64_t> uy(0, spec.height - 1);
  std::uniform_real_distribution<double> level(0.3, 1.0);
  for (std::int64_t i = 0; i < spec.hot_pixels; ++i) {
    HotPixel h;
    h.x = ux(rng);
    h.y = uy(rng);
    h.adu = std::max(spec.bias_adu, level(rng) * kFullScaleAdu);
    hot.push_back(h);
  }
  return hot;
}

std::vector<double> expected_electrons(const StarfieldSpec& spec) {
  const std::int64_t w = spec.width, h = spec.height;
  std::vector<double> e(pixel_count(spec), spec.sky_e);

  const double sigma = spec.fwhm_px / (2.0 * std::sqrt(2.0 * std::log(2.0)));
  const double inv_2s2 = 1.0 / (2.0 * sigma * sigma);
  const auto radius = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(4.0 * sigma)));
  // The PSF is separable: one row and one column profile per star, no per-pixel exp().
  std::vector<double> gx(static_cast<std::size_t>(2 * radius + 1));
  std::vector<double> gy(gx.size());
  for (const Star& s : star_catalogue(spec)) {
    const auto cx = static_cast<std::int64_t>(std::lround(s.x));
    const auto cy = static_cast<std::int64_t>(std::lround(s.y));
    const std::int64_t x0 = std::max<std::int64_t>(0, cx - radius), x1 = std::min(w - 1, cx + radius);
    const std::int64_t y0 = std::max<std::int64_t>(0, cy - radius), y1 = std::min(h - 1, cy + radius);
    if (x0 > x1 || y0 > y1 || s.peak_e <= 0.0) continue;
    for (std::int64_t x = x0; x <= x1; ++x) {
      const double d = static_cast<double>(x) - s.x;
      gx[static_cast<std::size_t>(x - x0)] = std::exp(-d * d * inv_2s2);
    }
    for (std::int64_t y = y0; y <= y1; ++y) {
      const double d = static_cast<double>(y) - s.y;
      gy[static_cast<std::size_t>(y - y0)] = s.peak_e * std::exp(-d * d * inv_2s2);
    }
    for (std::int64_t y = y0; y <= y1; ++y) {
      double* row = e.data() + y * w;
      const double fy = gy[static_cast<std::size_t>(y - y0)];
      for (std::int64_t x = x0; x <= x1; ++x) row[x] += fy * gx[static_cast<std::size_t>(x - x0)];
    }
  }

  if (spec.bayer) {
    for (std::int64_t y = 0; y < h; ++y) {
      double* row = e.data() + y * w;
      for (std::int64_t x = 0; x < w; ++x) row[x] *= rggb_response(y, x);
    }
  }
  return e;
}

namespace {

// Exact Poisson sampling by inversion of a tabulated CDF, for a mean used by many pixels.
// The table spans mean +/- 12 sqrt(mean) (+ 10): the mass left out is far below 1e-16, the
// resolution of the uniform variate. One uniform and a binary search per sample.
class PoissonTable {
public:
  explicit PoissonTable(double mean) {
    if (!(mean > 0.0) || mean > 1e7) return; // zero mean: every sample is 0; huge: not tabulated
    const double spread = 12.0 * std::sqrt(mean) + 10.0;
    first_ = static_cast<long long>(std::max(0.0, std::floor(mean - spread)));
    const auto last = static_cast<long long>(std::ceil(mean + spread));
    cdf_.reserve(static_cast<std::size_t>(last - first_ + 1));
    const double log_mean = std::log(mean);
    double total = 0.0;
    for (long long k = first_; k <= last; ++k) {
      const auto kd = static_cast<double>(k);
      total += std::exp(kd * log_mean - mean - std::lgamma(kd + 1.0));
      cdf_.push_back(total);
    }
    for (double& c : cdf_) c /= total;
    cdf_.back() = 1.0;
  }
  /// False when the mean is not tabulated (<= 0 or very large): use another sampler.
  [[nodiscard]] bool usable() const noexcept { return !cdf_.empty(); }
  long long operator()(std::mt19937_64& rng) const {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53; // uniform in [0, 1)
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
    return first_ + static_cast<long long>(it - cdf_.begin());
  }

private:
  long long first_ = 0;
  std::vector<double> cdf_;
};

// Writes ADU values into `out` (u16 rounded and clipped, or f32) and stamps the hot pixels.
template <typename T>
void store_adu(const std::vector<double>& adu, T* out, const StarfieldSpec& spec, const std::vector<HotPixel>& hot) {
  const std::size_t n = adu.size();
  for (std::size_t k = 0; k < n; ++k) {
    if constexpr (std::is_same_v<T, std::uint16_t>) {
      out[k] = static_cast<std::uint16_t>(std::clamp(std::nearbyint(adu[k]), 0.0, kFullScaleAdu));
    } else {
      out[k] = static_cast<T>(adu[k]);
    }
  }
  for (const HotPixel& hp : hot) {
    const auto k = static_cast<std::size_t>(hp.y * spec.width + hp.x);
    if constexpr (std::is_same_v<T, std::uint16_t>) {
      out[k] = static_cast<std::uint16_t>(std::clamp(std::nearbyint(hp.adu), 0.0, kFullScaleAdu));
    } else {
      out[k] = static_cast<T>(hp.adu);
    }
  }
}

} // namespace

Array make_starfield(const StarfieldSpec& spec, std::int64_t index) {
  if (spec.dtype != DType::u16 && spec.dtype != DType::f32)
    throw Error("synth starfield: dtype must be u16 or f32, not " + std::string(dtype_name(spec.dtype)));

  std::vector<double> adu = expected_electrons(spec);
  std::mt19937_64 rng(stream_seed(spec.seed, kStreamNoise, index));

  // Pixels no star reaches have exactly the sky mean of their CFA site: sample those from a
  // table (fast, exact); the few pixels under stars use std::poisson_distribution.
  std::array<double, 4> sky_mean{};
  std::vector<PoissonTable> sky_table;
  sky_table.reserve(4);
  for (std::size_t site = 0; site < 4; ++site) {
    sky_mean[site] = spec.bayer ? spec.sky_e * kRggbResponse[site] : spec.sky_e;
    sky_table.emplace_back(sky_mean[site]);
  }
  using Poisson = std::poisson_distribution<long long>;
  Poisson shot(1.0);
  double shot_mean = 1.0;
  std::normal_distribution<double> unit_normal(0.0, 1.0);
  const double inv_gain = 1.0 / spec.gain_e_per_adu;

  for (std::int64_t y = 0; y < spec.height; ++y) {
    double* row = adu.data() + y * spec.width;
    for (std::int64_t x = 0; x < spec.width; ++x) {
      const double mean = row[x];
      const auto site = static_cast<std::size_t>(((y & 1) << 1) | (x & 1));
      double electrons = 0.0;
      if (mean == sky_mean[site] && sky_table[site].usable()) {
        electrons = static_cast<double>(sky_table[site](rng));
      } else if (mean > 0.0) {
        if (mean != shot_mean) {
          shot.param(Poisson::param_type(mean));
          shot_mean = mean;
        }
        electrons = static_cast<double>(shot(rng));
      }
      if (spec.read_noise_e > 0.0) electrons += spec.read_noise_e * unit_normal(rng);
      row[x] = electrons * inv_gain + spec.bias_adu;
    }
  }

  const std::vector<HotPixel> hot = hot_pixel_map(spec);
  Array out = Array::uninitialized(spec.dtype, Shape{spec.height, spec.width});
  if (spec.dtype == DType::u16) {
    store_adu(adu, out.writable<std::uint16_t>().data(), spec, hot);
  } else {
    store_adu(adu, out.writable<float>().data(), spec, hot);
  }
  return out;
}

} // namespace lumen::synth
