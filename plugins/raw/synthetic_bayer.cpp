#include "synthetic_bayer.hpp"

#include "cfa.hpp"
#include "lumen/error.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace lumen::raw {

double scene_electrons(const BayerSpec& spec, std::int64_t y, std::int64_t x, int c) {
  const double fy = static_cast<double>(y) / static_cast<double>(std::max<std::int64_t>(spec.height - 1, 1));
  const double fx = static_cast<double>(x) / static_cast<double>(std::max<std::int64_t>(spec.width - 1, 1));
  double level = 0.1 + 0.6 * (fx + fy) / 2.0; // gradient, grey
  // Four patches, one per quadrant centre: red, green, blue, white.
  static constexpr double tint[4][3] = {{0.9, 0.15, 0.1}, {0.15, 0.9, 0.15}, {0.1, 0.2, 0.9}, {1.0, 1.0, 1.0}};
  const int qy = fy < 0.5 ? 0 : 1, qx = fx < 0.5 ? 0 : 1;
  const double cy = qy ? 0.75 : 0.25, cx = qx ? 0.75 : 0.25;
  if (std::abs(fy - cy) < 0.12 && std::abs(fx - cx) < 0.12) level = tint[qy * 2 + qx][c];
  return level * spec.peak_e;
}

Array make_bayer(const BayerSpec& spec) {
  const CfaPattern cfa = parse_cfa(spec.cfa);
  if (spec.height < cfa.rows || spec.width < cfa.cols || spec.height % cfa.rows || spec.width % cfa.cols)
    throw Error("make_bayer: height and width must be multiples of the CFA repeat (" + std::to_string(cfa.rows) + ")");
  Array out = Array::uninitialized(DType::u16, Shape{spec.height, spec.width});
  auto v = out.writable<std::uint16_t>();
  std::mt19937_64 rng(spec.seed);
  std::normal_distribution<double> read(0.0, spec.read_noise_e);
  for (std::int64_t y = 0; y < spec.height; ++y) {
    std::uint16_t* row = v.row(y);
    for (std::int64_t x = 0; x < spec.width; ++x) {
      const int c = cfa.color(y, x);
      const double mean = scene_electrons(spec, y, x, c);
      double e = mean;
      if (spec.noise > 0) {
        std::poisson_distribution<long long> shot(mean);
        e = static_cast<double>(shot(rng)) + read(rng);
      }
      const double adu = std::round(spec.black + e / spec.gain_e_per_adu);
      row[x] = static_cast<std::uint16_t>(std::clamp(adu, 0.0, spec.white));
    }
  }
  return out;
}

} // namespace lumen::raw
