// Synthetic Bayer mosaics with known statistics: a scene (a smooth gradient with colour
// patches), Poisson shot noise, Gaussian read noise and a black level, sampled through a
// CFA (Bayer or X-Trans). Used by the tests of the raw set and by raw.write_dng round trips in pipelines.
#pragma once

#include "lumen/array.hpp"

#include <cstdint>
#include <string>

namespace lumen::raw {

struct BayerSpec {
  std::int64_t height = 64, width = 96; // multiples of the CFA repeat (2, or 6 for X-Trans)
  std::string cfa = "RGGB";             // RGGB | BGGR | GRBG | GBRG | XTRANS (the standard X-Trans layout)
  double black = 512;                   // ADU added to every pixel
  double white = 16383;                 // output saturates here (14-bit default)
  double gain_e_per_adu = 2.0;
  double read_noise_e = 3.0;
  double peak_e = 8000; // brightest scene value in electrons
  double noise = 1.0;   // 0 = noiseless expected values (rounded)
  std::uint64_t seed = 1;
};

/// Expected electrons of the scene at (y, x) for colour channel c (0 R, 1 G, 2 B): a diagonal
/// gradient with four colour patches; deterministic, no noise.
[[nodiscard]] double scene_electrons(const BayerSpec& spec, std::int64_t y, std::int64_t x, int c);

/// A u16 (H, W) mosaic: ADU = black + Poisson(scene) / gain + N(0, read_noise) / gain, rounded
/// and clipped to [0, white]. Deterministic for a given spec (seed).
[[nodiscard]] Array make_bayer(const BayerSpec& spec);

} // namespace lumen::raw
