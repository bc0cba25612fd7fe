// Synthetic astronomical star fields: the physics behind `synth.starfield`.
//
// make_starfield() renders one frame, in ADU, from a StarfieldSpec and a frame index:
//
//   expected e-  = sky_e + sum over stars of peak_e * exp(-r^2 / 2 sigma^2)   (Gaussian PSF)
//                  [x RGGB colour response of the pixel's CFA site, when bayer]
//   electrons    = Poisson(expected e-) + Normal(0, read_noise_e)
//   ADU          = electrons / gain_e_per_adu + bias_adu, then hot pixels
//   u16: rounded and clipped to 0..65535 (saturation); f32: kept unrounded.
//
// The star catalogue and the hot pixels depend on `seed` only (the same sky seen by the same
// sensor in every frame, like a series of exposures); the noise depends on (seed, index). Any
// frame can therefore be regenerated on its own and frames can be made in parallel. Results
// are bit-reproducible for a given C++ standard library (std::mt19937_64 is specified exactly;
// std::poisson_distribution and std::normal_distribution are implementation-defined).
//
// Example pipeline, through the stage that wraps this:
//   - id: sky
//     use: synth.starfield
//     with: {width: 256, height: 256, count: 8, seed: 42, bayer: true}
#pragma once

#include "lumen/array.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace lumen::synth {

/// Bumped whenever the rendered pixels change for the same parameters (part of the unit identity).
inline constexpr int kStarfieldModelVersion = 1;

struct StarfieldSpec {
  std::int64_t width = 512, height = 512;
  std::uint64_t seed = 1;
  std::int64_t stars = 200;
  double fwhm_px = 2.5;         // Gaussian PSF full width at half maximum, pixels
  double sky_e = 20.0;          // sky background, electrons per pixel
  double peak_e_max = 20000.0;  // peak of the brightest star, electrons
  double gain_e_per_adu = 1.5;  // electrons per ADU
  double read_noise_e = 5.0;    // read noise, electrons RMS
  double bias_adu = 100.0;      // bias (offset) level, ADU
  std::int64_t hot_pixels = 10; // stuck-high pixels
  bool bayer = false;           // apply an RGGB colour response
  DType dtype = DType::u16;     // u16 (saturates at 65535) or f32
};

struct Star {
  double x = 0, y = 0; // centre, pixels (pixel centres are at integer coordinates)
  double peak_e = 0;   // peak of the PSF, electrons
};

struct HotPixel {
  std::int64_t x = 0, y = 0;
  double adu = 0; // the value the pixel is stuck at
};

/// Relative quantum efficiency per RGGB site: R, G (on red rows), G (on blue rows), B.
inline constexpr std::array<double, 4> kRggbResponse = {0.60, 1.00, 1.00, 0.45};
/// Colour response of pixel (y, x) under an RGGB mosaic (R at even row, even column).
[[nodiscard]] inline double rggb_response(std::int64_t y, std::int64_t x) noexcept {
  return kRggbResponse[static_cast<std::size_t>(((y & 1) << 1) | (x & 1))];
}

/// Full-scale ADU of a 16-bit frame; u16 frames saturate here, hot pixels are set relative to it.
inline constexpr double kFullScaleAdu = 65535.0;

/// A 64-bit seed for one random stream: mixes (seed, stream, index) with SplitMix64, so
/// neighbouring seeds and indices give unrelated streams.
[[nodiscard]] std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream, std::int64_t index) noexcept;

/// The stars of the field (depends on seed only). Star 0 is the brightest, at exactly
/// peak_e_max; the others follow dN/dF ~ F^-2 between peak_e_max/1000 and peak_e_max (many
/// faint stars, few bright ones). Centres are uniform over the frame.
[[nodiscard]] std::vector<Star> star_catalogue(const StarfieldSpec& spec);

/// The hot pixels of the sensor (depends on seed only): uniform positions, stuck at 30-100 %
/// of full scale (kFullScaleAdu), never below bias.
[[nodiscard]] std::vector<HotPixel> hot_pixel_map(const StarfieldSpec& spec);

/// Noise-free expected electrons per pixel (sky + stars, colour response applied when bayer),
/// row-major, height x width.
[[nodiscard]] std::vector<double> expected_electrons(const StarfieldSpec& spec);

/// One frame: an array of shape (height, width) and dtype spec.dtype (u16 or f32).
/// Throws lumen::Error for another dtype.
[[nodiscard]] Array make_starfield(const StarfieldSpec& spec, std::int64_t index);

} // namespace lumen::synth
