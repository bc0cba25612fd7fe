// Synthetic photon-limited movies: blinking cells over a smooth background, Poisson photon
// noise, a known gain and zero level (and optional Gaussian read noise). The pixel math behind
// synth.photon_movie; the ground truth for photon.estimate and the photon codec.
//
// Rate per pixel and frame (photons):
//   lambda(x, y, t) = background(x, y) + sum over cells of (base_c + amp_c * A_c(t)) * blob_c(x, y)
// clipped to [lambda_min, lambda_max]. The background varies smoothly between lambda_min and
// lambda_min + 25 % of the range; a cell is a Gaussian blob (sigma = cell_radius / 2) with a
// resting brightness base_c (10-30 % of the range) and calcium-like transients: events arrive as
// a Poisson process (event_rate per frame), each jumps A_c by 1 and decays with time constant
// decay_frames; A_c is capped at 1 and amp_c is 60 % of the range (a transient of 2 to 6 times
// the resting level), so the brightest cell pixel reaches about lambda_max.
// Camera value: x = round(gain * Poisson(lambda) + zero_level + N(0, read_noise^2)), saturated to
// the dtype's range.
//
// Everything depends on `seed`: the scene and activity on the seed alone, the noise of frame t
// on (seed, t), so any block of frames is reproducible on its own and blocks are made in parallel.
#pragma once

#include "lumen/array.hpp"

#include <cstdint>
#include <vector>

namespace lumen::synth {

struct PhotonMovieSpec {
  int width = 256, height = 256;
  std::int64_t frames = 200;
  double gain = 2.0;       // ADU per photon
  double zero_level = 100; // ADU
  double read_noise = 0;   // ADU, RMS
  double lambda_min = 5, lambda_max = 100;
  int cells = 40;
  double cell_radius = 6;   // px
  double event_rate = 0.02; // events per cell and frame
  double decay_frames = 8;
  std::uint64_t seed = 1;
  DType dtype = DType::u16; // u16 or u8 (saturating), f32 (unrounded)
};

/// The scene: background and cells, fixed for the whole movie.
class PhotonScene {
public:
  explicit PhotonScene(const PhotonMovieSpec& spec);
  /// Expected photons per pixel of frame t, row-major (height x width).
  void rate(std::int64_t t, std::vector<float>& out) const;
  [[nodiscard]] const PhotonMovieSpec& spec() const noexcept { return spec_; }

private:
  struct Cell {
    double x, y, base, amp;
  };
  PhotonMovieSpec spec_;
  std::vector<float> background_;
  std::vector<Cell> cells_;
  std::vector<float> activity_; // cells x frames, A_c(t)
};

/// Frames [begin, end) as one array (end - begin, height, width) of spec.dtype.
[[nodiscard]] Array render_photon_frames(const PhotonScene& scene, std::int64_t begin, std::int64_t end);

/// One Poisson(lambda) sample from two independent uniform streams (inversion below 10,
/// Hoermann's PTRS transformed rejection above); exposed for tests.
class PoissonSampler {
public:
  explicit PoissonSampler(std::uint64_t seed) noexcept;
  [[nodiscard]] std::int64_t operator()(double lambda) noexcept;
  [[nodiscard]] double uniform() noexcept; // [0, 1)
  [[nodiscard]] double normal() noexcept;

private:
  std::uint64_t s_[4];
};

} // namespace lumen::synth
