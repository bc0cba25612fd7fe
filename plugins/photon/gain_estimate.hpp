// Estimating a camera's gain (ADU per photon) and zero level from a movie of a scene: the math
// behind photon.estimate.
//
// For three successive frames of one pixel, x_i = g p_i + z0 with p_i independent Poisson counts
// of (nearly) the same rate, the second difference D = x1 - 2 x2 + x3 and the mean
// m = (x1 + x2 + x3) / 3 satisfy exactly E[D^2 / 6 | m] = g (m - z0): given p1 + p2 + p3 = k the
// counts are multinomial with equal shares, so Var(p1 - 2 p2 + p3 | k) = 2k. Binning every pixel
// triplet of the movie by m (one bin per integer value of x1 + x2 + x3, merged until each holds
// enough samples) and fitting the line v = g m + c through the bins' mean D^2 / 6 gives g (the
// slope) and the zero level z0 = -c / g. Differences cancel the static scene, and second
// differences also cancel linear change (the slow rise and decay of a cell's activity), so the
// structure and the activity of the image barely matter. What remains (sudden jumps) is removed
// in two refinement passes that drop triplets with |D| > 4 predicted sigmas (and correct the
// truncated Gaussian moment by its known factor), and by the robust line fit: Huber IRLS
// (k = 1.345, residuals standardised by each bin's sampling error and a MAD scale) from a
// Theil-Sen start.
//
// Read noise (Gaussian, sigma ADU) adds sigma^2 to every bin, so the fitted intercept gives the
// effective zero level z0 - sigma^2 / g: the one with which the plain Anscombe transform equals
// the generalized transform with the true zero level and sigma. When sigma is known, the true
// zero level is the effective one plus sigma^2 / g (photon.estimate does this).
//
// Memory: the frames given to add() are kept (shared, not copied) until fit(), plus two
// histograms of 786432 bins.
#pragma once

#include "lumen/array.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace lumen::photon {

/// One intensity level of the fit: what the report lists for plotting.
struct FitLevel {
  double mean = 0;     // pixel triplet mean, ADU
  double variance = 0; // mean D^2 / 6 (after clipping, corrected), ADU^2
  double samples = 0;  // triplets
  double weight = 0;   // final Huber weight, 0..1 (below 1: down-weighted as an outlier)
};

struct GainFit {
  double gain = 0;              // ADU per photon (the slope)
  double zero_level = 0;        // ADU (effective: includes -read_noise^2 / gain)
  double r_squared = 0;         // weighted coefficient of determination of the final fit
  double outlier_fraction = 0;  // share of bins the Huber weights reduced (activity, saturation)
  std::int64_t bins = 0;        // bins in the fit
  std::int64_t samples = 0;     // pixel triplets in the fit
  std::int64_t frames = 0;      // frames seen
  std::vector<FitLevel> levels; // the bins of the final fit
};

class GainEstimator {
public:
  /// Adds one frame (H, W) or a block (n, H, W) of integer counts (u8, u16, i16, u32, i32; 32-bit
  /// values must lie within -65536..196607). Frames must all have one shape; the array is kept
  /// (shared storage, no copy) until fit(). Throws lumen::InputError naming `who` for float data,
  /// another shape or values out of range.
  void add(const Array& frames, const std::string& who);
  [[nodiscard]] std::int64_t frames() const noexcept { return frames_; }
  /// The robust line fit. Throws lumen::InputError naming `who` when the movie cannot give one
  /// (fewer than 3 frames, fewer than 3 intensity levels, variance not rising with the mean).
  [[nodiscard]] GainFit fit(const std::string& who) const;

private:
  struct Histogram;
  void accumulate(Histogram& h, const std::vector<double>* limits) const;

  std::vector<Array> blocks_; // contiguous, same dtype
  Shape frame_shape_;
  std::int64_t frames_ = 0;
};

} // namespace lumen::photon
