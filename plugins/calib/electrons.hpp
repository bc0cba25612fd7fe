// ADU -> electrons: the pixel math behind `calib.electrons`.
//
//   physical (default):  e = (ADU - black) * gain
//   legacy:              e = ADU * gain - read_noise   (the older formula some training sets were
//                        made with; it subtracts an RMS, which is not a calibration, and ignores
//                        the black level: kept only to reproduce them)
// The black level is one value for every pixel, or one per CFA site of a mosaic (a 2x2 Bayer or
// 6x6 X-Trans repeat, row by row, for the top-left pixel of the array), so each colour site loses
// its own offset. Read noise is never subtracted in the physical formula; the stage records it.
// The output is f32 whatever the input dtype.
//
// Example pipeline, through the stage that wraps this:
//   - id: electrons
//     use: calib.electrons
//     with: {gain: 2.1, read_noise: 6.0}
#pragma once

#include "lumen/array.hpp"
#include "lumen/thread_pool.hpp"

#include <vector>

namespace lumen::calib {

struct ElectronsSpec {
  double gain = 1.0;              // e-/ADU
  std::vector<double> black{0.0}; // one value, or rows * cols values, row by row
  int rows = 1, cols = 1;         // the repeat of `black` (1 x 1, 2 x 2 Bayer, 6 x 6 X-Trans)
  bool legacy = false;            // ADU * gain - read_noise
  double read_noise = 0.0;        // e-, legacy only
};

/// Converts `image` (any dtype and shape; a per-site black needs an (H, W) mosaic) to electrons
/// as f32. An f32 image held by no one else is converted in place (pass it with std::move; a
/// shared one is copied first, so other holders never see the change). Rows are shared out over
/// `pool` (may be null). An f32 image with gain 1 and black 0 (legacy: read noise 0) is returned
/// as it is: the formula is an identity there. Throws lumen::InputError when the black levels do
/// not fit the image.
[[nodiscard]] Array to_electrons(Array image, const ElectronsSpec& spec, ThreadPool* pool = nullptr);

} // namespace lumen::calib
