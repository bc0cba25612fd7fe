// Synthetic photon-limited movies (see photon_movie.hpp).
#include "photon_movie.hpp"

#include "lumen/error.hpp"
#include "starfield.hpp" // stream_seed

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace lumen::synth {

namespace {

constexpr std::uint64_t kStreamScene = 11;
constexpr std::uint64_t kStreamActivity = 12;
constexpr std::uint64_t kStreamPhotons = 13;

std::uint64_t rotl(std::uint64_t x, int k) noexcept {
  return (x << k) | (x >> (64 - k));
}

} // namespace

// xoshiro256** seeded through splitmix (stream_seed), the generator numpy also builds on.
PoissonSampler::PoissonSampler(std::uint64_t seed) noexcept {
  for (int i = 0; i < 4; ++i) s_[i] = stream_seed(seed, 0x5eed, i);
}

double PoissonSampler::uniform() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

double PoissonSampler::normal() noexcept {
  const double u1 = 1.0 - uniform(); // (0, 1]
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::int64_t PoissonSampler::operator()(double lambda) noexcept {
  if (!(lambda > 0)) return 0;
  if (lambda < 10) { // multiplication (inversion) method: about lambda uniforms
    const double limit = std::exp(-lambda);
    std::int64_t k = 0;
    double p = uniform();
    while (p > limit) {
      ++k;
      p *= uniform();
    }
    return k;
  }
  // PTRS: Hoermann, "The transformed rejection method for generating Poisson random variables" (1993).
  const double slam = std::sqrt(lambda), loglam = std::log(lambda);
  const double b = 0.931 + 2.53 * slam;
  const double a = -0.059 + 0.02483 * b;
  const double invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const double vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const double u = uniform() - 0.5;
    const double v = uniform();
    const double us = 0.5 - std::abs(u);
    const auto k = static_cast<std::int64_t>(std::floor((2 * a / us + b) * u + lambda + 0.43));
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
        -lambda + static_cast<double>(k) * loglam - std::lgamma(static_cast<double>(k) + 1.0))
      return k;
  }
}

PhotonScene::PhotonScene(const PhotonMovieSpec& spec) : spec_(spec) {
  if (spec.width < 1 || spec.height < 1 || spec.frames < 1) throw Error("synth.photon_movie: empty movie");
  const double range = spec.lambda_max - spec.lambda_min;
  PoissonSampler rng(stream_seed(spec.seed, kStreamScene, 0));
  // Background: a product of two slow sinusoids with random phases, 0..25 % of the range.
  const double px = rng.uniform() * 6.28, py = rng.uniform() * 6.28;
  const auto w = static_cast<std::size_t>(spec.width), h = static_cast<std::size_t>(spec.height);
  background_.resize(w * h);
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x) {
      const double s = 0.5 + 0.5 * std::sin(7.0 * static_cast<double>(x) / static_cast<double>(w) + px) *
                                 std::cos(5.0 * static_cast<double>(y) / static_cast<double>(h) + py);
      background_[y * w + x] = static_cast<float>(spec.lambda_min + 0.25 * range * s);
    }
  cells_.resize(static_cast<std::size_t>(spec.cells));
  for (auto& c : cells_) {
    c.x = rng.uniform() * spec.width;
    c.y = rng.uniform() * spec.height;
    c.base = (0.1 + 0.2 * rng.uniform()) * range;
    c.amp = 0.6 * range;
  }
  // Activity: Poisson events with exponential decay, capped at 1.
  PoissonSampler events(stream_seed(spec.seed, kStreamActivity, 0));
  const auto frames = static_cast<std::size_t>(spec.frames);
  activity_.assign(cells_.size() * frames, 0.0f);
  const double decay = std::exp(-1.0 / std::max(spec.decay_frames, 1e-3));
  for (std::size_t c = 0; c < cells_.size(); ++c) {
    double a = 0;
    for (std::size_t t = 0; t < frames; ++t) {
      a *= decay;
      if (events.uniform() < spec.event_rate) a += 1.0;
      activity_[c * frames + t] = static_cast<float>(std::min(a, 1.0));
    }
  }
}

void PhotonScene::rate(std::int64_t t, std::vector<float>& out) const {
  out = background_;
  const int w = spec_.width, h = spec_.height;
  const double sigma = std::max(spec_.cell_radius / 2.0, 0.3);
  const int reach = static_cast<int>(std::ceil(3 * sigma));
  const auto frames = static_cast<std::size_t>(spec_.frames);
  for (std::size_t c = 0; c < cells_.size(); ++c) {
    const Cell& cell = cells_[c];
    const double level = cell.base + cell.amp * activity_[c * frames + static_cast<std::size_t>(t)];
    const int cx = static_cast<int>(std::lround(cell.x)), cy = static_cast<int>(std::lround(cell.y));
    for (int y = std::max(0, cy - reach); y <= std::min(h - 1, cy + reach); ++y)
      for (int x = std::max(0, cx - reach); x <= std::min(w - 1, cx + reach); ++x) {
        const double r2 = (x - cell.x) * (x - cell.x) + (y - cell.y) * (y - cell.y);
        out[static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)] +=
            static_cast<float>(level * std::exp(-r2 / (2 * sigma * sigma)));
      }
  }
  const auto lo = static_cast<float>(spec_.lambda_min), hi = static_cast<float>(spec_.lambda_max);
  for (float& v : out) v = std::clamp(v, lo, hi);
}

Array render_photon_frames(const PhotonScene& scene, std::int64_t begin, std::int64_t end) {
  const PhotonMovieSpec& spec = scene.spec();
  if (begin < 0 || end > spec.frames || begin >= end) throw Error("synth.photon_movie: frame range outside the movie");
  Array out = Array::uninitialized(spec.dtype, Shape{end - begin, spec.height, spec.width});
  const std::size_t pixels = static_cast<std::size_t>(spec.width) * static_cast<std::size_t>(spec.height);
  std::vector<float> lambda;
  visit_dtype(spec.dtype, [&]<typename T>(T) {
    T* dst = static_cast<T*>(out.raw());
    for (std::int64_t t = begin; t < end; ++t) {
      scene.rate(t, lambda);
      PoissonSampler rng(stream_seed(spec.seed, kStreamPhotons, t));
      T* frame = dst + static_cast<std::size_t>(t - begin) * pixels;
      for (std::size_t i = 0; i < pixels; ++i) {
        double v = spec.gain * static_cast<double>(rng(lambda[i])) + spec.zero_level;
        if (spec.read_noise > 0) v += spec.read_noise * rng.normal();
        if constexpr (std::is_floating_point_v<T>) {
          frame[i] = static_cast<T>(v);
        } else {
          v = std::clamp(std::round(v), static_cast<double>(std::numeric_limits<T>::min()),
                         static_cast<double>(std::numeric_limits<T>::max()));
          frame[i] = static_cast<T>(v);
        }
      }
    }
  });
  return out;
}

} // namespace lumen::synth
